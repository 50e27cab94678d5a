import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@spoke/transport-core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_BIN, expandArgs } from './cli.js';
import { render, workloads, type Container, type Volume } from './objects.js';

// The hub Deployment and the agent DaemonSet of hub-agents.yaml run as real processes with the rendered args: the
// Secrets mounted where the pods mount them (directories here), each replica with its own $(POD_NAME), a round-robin
// TCP balancer as the Service, and the agent's --hub pointed at it. With --hub-count=<replicas> the agent must end
// up connected to every replica, and each replica answers the probes' /healthz and /readyz.
const scratch = mkdtempSync(join(tmpdir(), 'spoke-deploy-replicas-'));
const children: ChildProcess[] = [];
const servers: net.Server[] = [];

afterAll(async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
  for (const s of servers) s.close();
  rmSync(scratch, { recursive: true, force: true });
});

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: scratch, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** The Secrets of hub-agents.yaml: a CA, the hub certificate it signs (for 127.0.0.1, where the balancer listens), tokens. */
function makeSecrets(): Record<string, Record<string, string>> {
  // A P-256 key and either a self-signed certificate (the CA) or a request to sign (the hub).
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=test CA']);
  openssl(['req', ...ec, '-keyout', 'hub.key', '-out', 'hub.csr', '-subj', '/CN=spoke-hub']);
  writeFileSync(join(scratch, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:spoke-hub.spoke.svc\n');
  openssl([
    'x509',
    '-req',
    '-in',
    'hub.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'hub.crt',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  ]);
  const read = (f: string) => readFileSync(join(scratch, f), 'utf8');
  return {
    'spoke-hub-tls': { 'tls.crt': read('hub.crt'), 'tls.key': read('hub.key'), 'ca.crt': read('ca.crt') },
    'spoke-hub-ca': { 'ca.crt': read('ca.crt') },
    'spoke-tokens': { 'agent-tokens': 'agent-token-0123456789abcdef\n', 'client-tokens': 'client-token-0123456789abcdef\n' },
  };
}

/**
 * A container's Secret volumes as the kubelet would mount them: one directory each, files with the volume's
 * defaultMode (0440: spoke warns that the group may read them, and uses them); mountPath → dir.
 */
function mountSecrets(
  who: string,
  c: Container,
  volumes: readonly Volume[],
  secrets: Record<string, Record<string, string>>,
): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const m of c.volumeMounts ?? []) {
    const secret = volumes.find((v) => v.name === m.name)?.secret;
    if (!secret) continue;
    const data = secrets[secret.secretName];
    if (!data) throw new Error(`no test data for Secret ${secret.secretName}`);
    const dir = join(scratch, who, m.name);
    mkdirSync(dir, { recursive: true });
    const files = secret.items ? secret.items.map((i) => [i.path, data[i.key] ?? ''] as const) : Object.entries(data);
    for (const [name, text] of files) {
      writeFileSync(join(dir, name), text);
      chmodSync(join(dir, name), secret.defaultMode ?? 0o644);
    }
    mounts.set(m.mountPath, dir);
  }
  return mounts;
}

/** The args with mount paths moved to their directories and `rewrite` applied to each flag. */
function localArgs(args: readonly string[], mounts: Map<string, string>, rewrite: (a: string) => string): string[] {
  return args.map((a) => {
    let out = rewrite(a);
    for (const [mountPath, dir] of mounts) out = out.replace(`=${mountPath}/`, `=${dir}/`);
    return out;
  });
}

function start(args: string[]): { child: ChildProcess; firstLine: Promise<string> } {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const firstLine = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] as string);
    });
    child.once('exit', (code) => reject(new Error(`spoke ${args[0]} exited ${code}: ${err}`)));
  });
  return { child, firstLine };
}

/** The Service: each new connection goes to the next replica. */
async function roundRobin(ports: readonly number[]): Promise<number> {
  let next = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(ports[next++ % ports.length] as number, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: r.status, body: await r.text() };
}

describe('hub replicas and agents with the rendered args (hub-agents.yaml)', () => {
  it(
    'the agent reaches every replica through one balanced address (--hub-count), and every replica is ready',
    { timeout: 60_000 },
    async () => {
      const ws = workloads(render('hub-agents'));
      const hub = ws.find((w) => w.source === 'Deployment/spoke-hub');
      const agent = ws.find((w) => w.source === 'DaemonSet/spoke-agent');
      const hubContainer = hub?.pod.containers[0];
      const agentContainer = agent?.pod.containers[0];
      if (!hub || !agent || !hubContainer || !agentContainer) throw new Error('hub or agent missing from the render');
      const replicas = Number(/^--hub-count=(\d+)$/.exec(hubContainer.args?.find((a) => a.startsWith('--hub-count=')) ?? '')?.[1]);
      expect(replicas).toBe(3);
      const secrets = makeSecrets();

      const hubMounts = mountSecrets('hub', hubContainer, hub.pod.volumes ?? [], secrets);
      const env = new Set((hubContainer.env ?? []).map((e) => e.name));
      const hubs = await Promise.all(
        Array.from({ length: replicas }, async (_, i) => {
          // With --log-format json the listening line is JSON naming the WSS URL; the metrics port is chosen here.
          const metricsPort = await freePort();
          const args = localArgs(expandArgs(hubContainer.args ?? [], env), hubMounts, (a) =>
            a
              .replace(/^--listen=.*$/, '--listen=127.0.0.1:0')
              .replace(/^--metrics=.*$/, `--metrics=127.0.0.1:${metricsPort}`)
              .replace(/^--id=.*$/, `--id=spoke-hub-${i}`),
          );
          const line = JSON.parse(await start(args).firstLine) as { msg?: string; url?: string };
          const wss = /^wss:\/\/127\.0\.0\.1:(\d+)$/.exec(line.url ?? '')?.[1];
          if (line.msg !== 'listening' || !wss) throw new Error(`unexpected hub line: ${JSON.stringify(line)}`);
          return { port: Number(wss), metrics: `http://127.0.0.1:${metricsPort}` };
        }),
      );
      const service = await roundRobin(hubs.map((h) => h.port));

      const agentMounts = mountSecrets('agent', agentContainer, agent.pod.volumes ?? [], secrets);
      const agentArgs = localArgs(
        expandArgs(agentContainer.args ?? [], new Set((agentContainer.env ?? []).map((e) => e.name))),
        agentMounts,
        (a) => a.replace(/^--hub=.*$/, `--hub=wss://127.0.0.1:${service}`),
      );
      start(agentArgs);

      // Each replica counts the agent once it holds a session there; poll (bounded) until all do.
      const deadline = Date.now() + 45_000;
      let counts: string[] = [];
      while (Date.now() < deadline) {
        counts = await Promise.all(
          hubs.map(async (h) => /^spoke_hub_agents (\d+)$/m.exec((await get(`${h.metrics}/metrics`)).body)?.[1] ?? '?'),
        );
        if (counts.every((c) => c === '1')) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(counts).toEqual(hubs.map(() => '1'));
      for (const h of hubs) {
        expect((await get(`${h.metrics}/healthz`)).status).toBe(200);
        expect((await get(`${h.metrics}/readyz`)).status).toBe(200);
      }
    },
  );
});
