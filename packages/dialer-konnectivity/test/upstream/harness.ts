import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { ensureUpstreamBinaries, type UpstreamBinaries } from './build-upstream.mjs';

/** Paths of the PEM files one interop setup uses. */
export interface TestPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  serverCertPem: string;
  serverKeyPem: string;
}

let binaries: UpstreamBinaries | undefined;

/** The upstream binaries (built once per version; see build-upstream.mjs). */
export function upstream(): UpstreamBinaries {
  binaries ??= ensureUpstreamBinaries();
  return binaries;
}

/** A temp dir with a CA, a server cert for 127.0.0.1/localhost and a client cert. */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'spoke-konn-'));
  const ca = createCertificateAuthority({ commonName: 'konnectivity test CA' });
  const server = ca.issue({ commonName: 'konnectivity-server', altNames: ['127.0.0.1', 'localhost'] });
  const client = ca.issue({ commonName: 'system:konnectivity', usages: ['client'] });
  const files = {
    ca: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server-key.pem'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client-key.pem'),
  };
  writeFileSync(files.ca, ca.cert);
  writeFileSync(files.serverCert, server.cert);
  writeFileSync(files.serverKey, server.key, { mode: 0o600 });
  writeFileSync(files.clientCert, client.cert);
  writeFileSync(files.clientKey, client.key, { mode: 0o600 });
  return {
    dir,
    ...files,
    caPem: ca.cert,
    clientCertPem: client.cert,
    clientKeyPem: client.key,
    serverCertPem: server.cert,
    serverKeyPem: server.key,
  };
}

/** Removes a PKI temp dir (and anything else tests put in it, such as sockets). */
export function removePki(pki: TestPki | undefined): void {
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
}

/**
 * A free TCP port on 127.0.0.1 inside 1024..49151: upstream rejects ports
 * outside that range, and the kernel's ephemeral range goes above it.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port found in 20000..32000');
}

/** A child process with its collected output. */
export interface Proc {
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL after 3 s; resolves when the process has exited. */
  stop(): Promise<void>;
  /** SIGKILL now (to simulate a crash); resolves on exit. */
  kill(): Promise<void>;
}

/** Spawns a binary, keeping its stderr/stdout for failure messages. */
export function run(bin: string, args: string[]): Proc {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer): void => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = child.exitCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined);
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  return { child, output: () => out, stop: () => stop('SIGTERM'), kill: () => stop('SIGKILL') };
}

/** Polls an HTTP URL until it answers `status` (or throws with the process output after `timeoutMs`). */
export async function waitForHttp(url: string, status: number, proc?: Proc, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: string;
    if (proc && proc.child.exitCode !== null)
      throw new Error(`process exited (${proc.child.exitCode}) before ${url} answered ${status}:\n${proc.output().slice(-4000)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === status) return;
    } catch (err) {
      last = String(err);
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${url} to answer ${status} (last: ${last})\n${proc?.output().slice(-4000) ?? ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Ports of a proxy-server (Go or ours). */
export interface ServerPorts {
  agentPort: number;
  healthPort: number;
  adminPort: number;
  serverPort: number;
}

/** Options of {@link startUpstreamServer}. */
export interface UpstreamServerOptions {
  mode: 'grpc' | 'http-connect';
  /** Front end on this unix socket; otherwise mTLS TCP on 127.0.0.1. */
  uds?: string;
  pki: TestPki;
  extraArgs?: string[];
}

/** Starts upstream proxy-server on loopback and waits until /healthz answers. */
export async function startUpstreamServer(o: UpstreamServerOptions): Promise<{ proc: Proc; ports: ServerPorts }> {
  const ports: ServerPorts = {
    agentPort: await freePort(),
    healthPort: await freePort(),
    adminPort: await freePort(),
    serverPort: o.uds ? 0 : await freePort(),
  };
  const args = [
    `--mode=${o.mode}`,
    `--agent-port=${ports.agentPort}`,
    '--agent-bind-address=127.0.0.1',
    `--health-port=${ports.healthPort}`,
    '--health-bind-address=127.0.0.1',
    `--admin-port=${ports.adminPort}`,
    '--admin-bind-address=127.0.0.1',
    `--cluster-cert=${o.pki.serverCert}`,
    `--cluster-key=${o.pki.serverKey}`,
    '--server-id=upstream-server-1',
    ...(o.uds
      ? [`--uds-name=${o.uds}`, '--server-port=0']
      : [
          `--server-port=${ports.serverPort}`,
          '--server-bind-address=127.0.0.1',
          `--server-cert=${o.pki.serverCert}`,
          `--server-key=${o.pki.serverKey}`,
          `--server-ca-cert=${o.pki.ca}`,
        ]),
    ...(o.extraArgs ?? []),
  ];
  const proc = run(upstream().server, args);
  await waitForHttp(`http://127.0.0.1:${ports.healthPort}/healthz`, 200, proc);
  return { proc, ports };
}

/** Starts upstream proxy-agent against a server's agent port. */
export async function startUpstreamAgent(o: {
  agentPort: number;
  pki: TestPki;
  agentId?: string;
  extraArgs?: string[];
}): Promise<{ proc: Proc; healthPort: number }> {
  const healthPort = await freePort();
  const args = [
    '--proxy-server-host=127.0.0.1',
    `--proxy-server-port=${o.agentPort}`,
    `--ca-cert=${o.pki.ca}`,
    `--agent-id=${o.agentId ?? 'upstream-agent-1'}`,
    '--health-server-host=127.0.0.1',
    `--health-server-port=${healthPort}`,
    '--admin-bind-address=127.0.0.1',
    `--admin-server-port=${await freePort()}`,
    ...(o.extraArgs ?? []),
  ];
  return { proc: run(upstream().agent, args), healthPort };
}
