import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { startCli, type CliProc } from './cli-procs.js';
import { tcpConnect, type Opener } from './client.js';
import { startChild, type Child } from './proc.js';

/**
 * The processes of the user-path rows (issue 15), all on 127.0.0.1:
 *
 * - baseline: TLS client (this process) → one Node process terminating TLS and piping to the target;
 * - connect:  client → `spoke hub` CONNECT front end (plain HTTP, loopback, Bearer client token)
 *             → WSS (pinned certificate, agent token) → `spoke agent` → target;
 * - wss:      client → `spoke forward -L` → `spoke+wss://` (pinned, client token file) → hub
 *             → WSS → agent → target (two encrypted legs).
 *
 * The hub keeps its identity in a temporary `--state-dir` (tls.crt/tls.key, token files), and
 * the TLS relay serves the same certificate and key.
 */
export interface UserPaths {
  target: Child;
  tlsRelay: Child;
  hub: CliProc;
  agent: CliProc;
  forward: CliProc;
  targetPort: number;
  open: { tls: Opener; connect: Opener; wss: Opener };
  /** The `spoke+wss://` URI clients use (for extra forwarders). */
  via: string;
  /** CPU (µs) of each tunnel process of a path: client and target are not part of a tunnel. */
  cpu: {
    tls: () => Promise<Record<string, number>>;
    connect: () => Promise<Record<string, number>>;
    wss: () => Promise<Record<string, number>>;
  };
  close(): Promise<void>;
}

/** `plaintext`: the hub and agent speak plain ws:// (`--insecure-plaintext`, loopback only), for the peers' plain mode. */
export async function startUserPaths({ plaintext = false } = {}): Promise<UserPaths> {
  const dir = mkdtempSync(join(tmpdir(), 'spoke-bench-user-'));
  const stops: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const target = await startChild('target');
    stops.push(() => target.stop());
    const targetPort = Number(target.info['port']);
    const stateDir = join(dir, 'hub');
    const hub = startCli('hub', [
      'hub',
      '--listen',
      '127.0.0.1:0',
      '--connect',
      '127.0.0.1:0',
      '--state-dir',
      stateDir,
      // The memory and 16-stream rows open more connections from 127.0.0.1 than the per-address default (256).
      '--max-connections-per-address',
      '4096',
      '--log-level',
      'warn',
      ...(plaintext ? ['--insecure-plaintext'] : []),
    ]);
    stops.push(() => hub.stop());
    const line = await hub.line(/^spoke hub listening: /);
    const url = /(wss?:\/\/\S+)/.exec(line)?.[1] ?? '';
    const fingerprint = /fingerprint=(\S+)/.exec(line)?.[1] ?? '';
    const connectAddress = /connect=(\S+)/.exec(line)?.[1] ?? '';
    const connectPort = Number(connectAddress.split(':').pop());
    const agent = startCli('agent', [
      'agent',
      '--hub',
      url,
      '--id',
      'bench-node',
      '--identifiers',
      'ipv4=127.0.0.1',
      '--allow',
      `127.0.0.1/32:${targetPort}`,
      '--token-file',
      join(stateDir, 'agent-tokens'),
      ...(plaintext ? ['--insecure-plaintext'] : ['--hub-fingerprint', fingerprint]),
    ]);
    stops.push(() => agent.stop());
    await agent.stderrMatch(/connected/i);
    const clientToken = firstToken(join(stateDir, 'client-tokens'));
    const via = `spoke+wss://${url.replace(/^wss?:\/\//, '').replace(/\/$/, '')}/?token-file=${join(stateDir, 'client-tokens')}&fingerprint=${fingerprint}`;
    const forward = startCli('forward', ['forward', '-L', `127.0.0.1:0:127.0.0.1:${targetPort}`, '--via', via, '--log-level', 'warn']);
    stops.push(() => forward.stop());
    const forwardLine = await forward.line(/^spoke forward listening: /);
    const forwardPort = Number(/127\.0\.0\.1:(\d+) ->/.exec(forwardLine)?.[1]);

    const certPem = readFileSync(join(stateDir, 'tls.crt'), 'utf8');
    const tlsRelay = await startChild('tls-relay', { targetPort, certPem, keyPem: readFileSync(join(stateDir, 'tls.key'), 'utf8') });
    stops.push(() => tlsRelay.stop());
    const tlsPort = Number(tlsRelay.info['port']);

    const open = {
      tls: () => tlsConnect(tlsPort, certPem),
      connect: () => httpConnect(connectPort, clientToken, `127.0.0.1:${targetPort}`),
      wss: () => tcpConnect(forwardPort),
    };
    const cpu = {
      tls: async () => ({ relay: await tlsRelay.cpu() }),
      connect: () => Promise.resolve({ hub: hub.cpu(), agent: agent.cpu() }),
      wss: () => Promise.resolve({ forward: forward.cpu(), hub: hub.cpu(), agent: agent.cpu() }),
    };
    return { target, tlsRelay, hub, agent, forward, targetPort, open, via, cpu, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function firstToken(file: string): string {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('#'));
  if (line === undefined) throw new Error(`no token in ${file}`);
  return line.split(/\s+/).pop() as string;
}

/** A TLS connection that trusts exactly the hub's (self-signed) certificate, as a pinned client would. */
async function tlsConnect(port: number, certPem: string): Promise<Duplex> {
  // allowHalfOpen is a net.Socket option tls.connect passes on; its ConnectionOptions type leaves it out.
  const options: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
    host: '127.0.0.1',
    port,
    ca: certPem,
    servername: 'localhost',
    allowHalfOpen: true,
  };
  const socket = tls.connect(options);
  socket.setNoDelay(true);
  await once(socket, 'secureConnect');
  return socket;
}

/** `CONNECT target` on the hub's front end with the client token; resolves with the socket once the 200 is read. */
function httpConnect(port: number, token: string, target: string): Promise<Duplex> {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\nProxy-Authorization: Bearer ${token}\r\n\r\n`);
  return new Promise((resolve, reject) => {
    let head: Buffer = Buffer.alloc(0);
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.off('error', fail);
      socket.pause();
      const status = head.subarray(0, head.indexOf('\r\n')).toString();
      if (!/^HTTP\/1\.1 200 /.test(status)) return fail(new Error(`CONNECT ${target}: ${status}`));
      if (end + 4 < head.length) socket.unshift(head.subarray(end + 4));
      // An explicit pause() survives new 'data' listeners: flow again once the caller reads (as a fresh socket would).
      const onListener = (event: string): void => {
        if (event !== 'data') return;
        socket.off('newListener', onListener);
        process.nextTick(() => socket.resume());
      };
      socket.on('newListener', onListener);
      resolve(socket);
    };
    socket.on('data', onData);
    socket.once('error', fail);
  });
}
