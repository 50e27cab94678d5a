/**
 * kubectl through `spoke proxy`: a kubeconfig whose cluster has
 * `proxy-url: http://127.0.0.1:PORT` makes every client-go program (kubectl,
 * controllers, helm) open its API connections with HTTP CONNECT through the
 * proxy, and the proxy dials them through its `--via` hops (direct TCP when
 * there are none; `--via ssh://ops@bastion` to cross an SSH bastion). TLS stays
 * end to end: the proxy only sees ciphertext.
 *
 *   npm run proxy-url -- https://10.0.0.5:6443 ca.pem [--via ssh://ops@bastion?known-hosts=known_hosts]
 */
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { runIfMain, type ExampleContext } from './program.js';

const run = promisify(execFile);

export interface ProxyUrlOptions extends ExampleContext {
  /** The API server as the proxy's far side reaches it, e.g. `https://10.0.0.5:6443`. */
  server: string;
  /** PEM CA that signed the API server's certificate. */
  ca: string;
  /** Bearer token for the kubeconfig user. Default none (enough for /healthz). */
  token?: string;
  /** Hops for `spoke proxy --via`. Default none: the proxy dials directly. */
  via?: readonly string[];
  /** The argv that runs spoke. Default `['spoke']` (node_modules/.bin under npm run). */
  spoke?: readonly string[];
  /** The kubectl binary. Default `kubectl`. */
  kubectl?: string;
}

/** One JSON log line of `spoke --log-format json`. */
interface SpokeLogLine {
  msg?: string;
  code?: string;
  target?: string;
}

/**
 * Starts `spoke proxy --http 127.0.0.1:0`, writes a kubeconfig pointing at it,
 * runs `kubectl get --raw /healthz`, prints the answer and how many connections
 * the proxy relayed, then stops the proxy. Resolves to an exit code.
 */
export async function main(options: ProxyUrlOptions): Promise<number> {
  const { server, ca, token, via = [], spoke = ['spoke'], kubectl = 'kubectl', signal, log = console.log } = options;
  const [command = 'spoke', ...prefix] = spoke;
  const args = [...prefix, 'proxy', '--http', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--log-format', 'json'];
  const proxy = spawn(command, [...args, ...via.flatMap((hop) => ['--via', hop])], { stdio: ['ignore', 'pipe', 'pipe'], signal });
  const exited = once(proxy, 'close').catch(() => undefined);
  // Its JSON log lines say why a dial failed, by SpokeError code.
  const failures: SpokeLogLine[] = [];
  const stderr: string[] = [];
  createInterface({ input: proxy.stderr }).on('line', (line) => {
    const entry = parseLogLine(line);
    if (entry?.msg === 'dial failed') failures.push(entry);
    stderr.push(line);
  });
  const dir = await mkdtemp(join(tmpdir(), 'spoke-proxy-url-'));
  try {
    const { http, metrics } = await listening(proxy, stderr);
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, kubeconfigYaml(server, ca, `http://${http}`, token), { mode: 0o600 });
    log(`spoke proxy on ${http}; kubeconfig ${kubeconfig} has proxy-url: http://${http}`);
    try {
      const { stdout } = await run(kubectl, ['--kubeconfig', kubeconfig, '--request-timeout', '20s', 'get', '--raw', '/healthz'], {
        signal,
      });
      log(`kubectl get --raw /healthz: ${stdout.trim()}`);
    } catch (err) {
      if (signal.aborted) throw err;
      return explain(failures, err, log);
    }
    log(`the proxy relayed ${await relayed(metrics, signal)} connection(s)`);
    return 0;
  } catch (err) {
    if (!signal.aborted) throw err;
    log('aborted');
    return 130;
  } finally {
    proxy.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
}

/** kubectl failed: say why, from the proxy's dial failures when there are any. */
function explain(failures: readonly SpokeLogLine[], err: unknown, log: (line: string) => void): number {
  const failure = failures.at(-1);
  if (failure?.code === undefined) {
    log(`kubectl failed, the proxy saw no dial failure: ${(err as { stderr?: string }).stderr?.trim() ?? String(err)}`);
    return 1;
  }
  switch (failure.code) {
    case 'ERR_DIAL_REFUSED':
    case 'ERR_DIAL_TIMEOUT':
    case 'ERR_DIAL_UNREACHABLE':
      log(`${failure.code}: the proxy could not reach the API server at ${failure.target ?? '?'}`);
      break;
    case 'ERR_HOST_KEY_UNKNOWN':
    case 'ERR_HOST_KEY_MISMATCH':
    case 'ERR_AUTH_FAILED':
      log(`${failure.code}: the proxy's --via hop refused it; check its credentials and known_hosts`);
      break;
    default:
      log(`${failure.code}: the proxy's dial to ${failure.target ?? '?'} failed`);
  }
  return 1;
}

function kubeconfigYaml(server: string, ca: string, proxyUrl: string, token?: string): string {
  // JSON is YAML: no YAML writer needed for a handful of fields.
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'remote', cluster: { server, 'certificate-authority-data': Buffer.from(ca).toString('base64'), 'proxy-url': proxyUrl } },
    ],
    users: [{ name: 'remote', user: token === undefined ? {} : { token } }],
    contexts: [{ name: 'remote', context: { cluster: 'remote', user: 'remote' } }],
    'current-context': 'remote',
  });
}

/**
 * Waits for spoke's "listening" line, which `--log-format json` makes a JSON object:
 * `{"msg":"listening","command":"spoke proxy","addresses":["http 127.0.0.1:P","metrics http://127.0.0.1:M/metrics"],...}`.
 */
async function listening(proxy: ReturnType<typeof spawn>, stderr: readonly string[]): Promise<{ http: string; metrics: string }> {
  if (!proxy.stdout) throw new Error('spoke proxy has no stdout');
  for await (const line of createInterface({ input: proxy.stdout })) {
    let event: { msg?: unknown; addresses?: unknown };
    try {
      event = JSON.parse(line) as { msg?: unknown; addresses?: unknown };
    } catch {
      continue;
    }
    if (event.msg !== 'listening' || !Array.isArray(event.addresses)) continue;
    const addresses = event.addresses.map(String);
    const http = addresses.find((a) => a.startsWith('http '))?.slice('http '.length);
    const metrics = addresses.find((a) => a.startsWith('metrics '))?.slice('metrics '.length);
    if (http !== undefined && metrics !== undefined) return { http, metrics };
  }
  throw new Error(`spoke proxy exited before it listened: ${stderr.slice(-5).join('\n')}`);
}

async function relayed(metricsUrl: string, signal: AbortSignal): Promise<number> {
  const text = await (await fetch(metricsUrl, { signal })).text();
  return Number(/^spoke_cli_connections_total (\d+)$/m.exec(text)?.[1] ?? 0);
}

function parseLogLine(line: string): SpokeLogLine | undefined {
  try {
    return JSON.parse(line) as SpokeLogLine;
  } catch {
    return undefined;
  }
}

runIfMain(import.meta.url, async (context, [server, caFile, ...rest]) => {
  const via = rest.flatMap((arg, i) => (rest[i - 1] === '--via' ? [arg] : []));
  if (server === undefined || caFile === undefined) {
    context.log('usage: proxy-url API_SERVER_URL CA_FILE [--via URI]...');
    return 2;
  }
  return main({ ...context, server, ca: await readFile(caFile, 'utf8'), via });
});
