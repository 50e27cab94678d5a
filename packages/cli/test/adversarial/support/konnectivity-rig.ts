import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { runCli, startCli, type CliProcess } from '../../support/cli-process.js';
import { freeRegisteredPort } from '../../support/ports.js';
import { startTcpServer, type Served } from '../../support/servers.js';

/**
 * A `spoke konnectivity server` with an mTLS TCP front end and a `spoke konnectivity agent` (node-1,
 * by bearer token): the victim, and a path for legitimate traffic through both ports.
 */
export interface KonnectivityRig {
  server: CliProcess;
  agent: CliProcess | undefined;
  agentPort: number;
  frontPort: number;
  /** PEM material: the CA every certificate chains to, and a front-end client certificate. */
  pem: { ca: string; clientCert: string; clientKey: string };
  /** A `konnectivity+grpc://` URI a legitimate front-end client dials through. */
  via: string;
  /** Writes a 0600 file in the rig's directory; returns its path. */
  file(name: string, text: string): string;
  /** A server answering the first chunk it receives, then closing (Konnectivity has no half-close). */
  target: Served;
  stop(): Promise<void>;
}

export interface KonnectivityRigOptions {
  /** Agent authentication flags instead of `--agent-token-file` (then no agent is started unless `agentToken` is given). */
  auth?: (file: KonnectivityRig['file']) => string[];
  /** The bearer token the rig's agent presents. Default: the token of the rig's token file. */
  agentToken?: string;
  /** More server flags. */
  extra?: readonly string[];
}

/** The token in the rig's --agent-token-file (unless `auth` replaces it). */
export const AGENT_TOKEN = 'rig-agent-token-0123456789';

export async function startKonnectivityRig(options: KonnectivityRigOptions = {}): Promise<KonnectivityRig> {
  const dir = mkdtempSync(join(tmpdir(), 'spoke-adversarial-konn-'));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const ca = createCertificateAuthority({ commonName: 'konnectivity adversarial CA' });
  const serving = ca.issue({ commonName: 'konnectivity-server', altNames: ['127.0.0.1', 'localhost'], usages: ['server'] });
  const client = ca.issue({ commonName: 'kube-apiserver', usages: ['client'] });
  const target = await startTcpServer((s) => s.once('data', (chunk: Buffer) => s.end(chunk)));
  const [agentPort, frontPort, healthPort] = [await freeRegisteredPort(), await freeRegisteredPort(), await freeRegisteredPort()];
  const files = {
    ca: file('ca.crt', ca.cert),
    cert: file('serving.crt', serving.cert),
    key: file('serving.key', serving.key),
    clientCert: file('client.crt', client.cert),
    clientKey: file('client.key', client.key),
  };
  const auth = options.auth?.(file) ?? [`--agent-token-file=${file('agent-tokens', `${AGENT_TOKEN}\n`)}`];
  const server = startCli([
    'konnectivity',
    'server',
    `--server-port=${frontPort}`,
    '--server-bind-address=127.0.0.1',
    `--server-cert=${files.cert}`,
    `--server-key=${files.key}`,
    `--server-ca-cert=${files.ca}`,
    `--agent-port=${agentPort}`,
    '--agent-bind-address=127.0.0.1',
    `--health-port=${healthPort}`,
    '--health-bind-address=127.0.0.1',
    `--cluster-cert=${files.cert}`,
    `--cluster-key=${files.key}`,
    ...auth,
    ...(options.extra ?? []),
  ]);
  await server.line(/^spoke konnectivity server listening: .+$/m);
  const token = options.agentToken ?? (options.auth ? undefined : AGENT_TOKEN);
  const agent =
    token === undefined
      ? undefined
      : startCli([
          'konnectivity',
          'agent',
          '--proxy-server-host=127.0.0.1',
          `--proxy-server-port=${agentPort}`,
          `--ca-cert=${files.ca}`,
          // As kubelet projects it: no trailing newline.
          `--service-account-token-path=${file('agent.token', token)}`,
          '--agent-id=node-1',
          '--health-server-host=127.0.0.1',
          '--health-server-port=0',
        ]);
  if (agent) await server.stderrMatch(/agent node-1 connected/);
  return {
    server,
    agent,
    agentPort,
    frontPort,
    pem: { ca: ca.cert, clientCert: client.cert, clientKey: client.key },
    via: `konnectivity+grpc://127.0.0.1:${frontPort}?ca=${files.ca}&cert=${files.clientCert}&key=${files.clientKey}`,
    file,
    target,
    async stop() {
      await agent?.stop();
      await server.stop();
      await target.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends `text` to the rig's target through the front end and the agent; resolves with what came back and the exit code. */
export async function konnectivityEcho(
  rig: KonnectivityRig,
  text: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await runCli(['dial', rig.target.address, '--via', rig.via, '--connect-timeout', '10s'], {
    input: text,
  });
  return { code, stdout, stderr };
}
