import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { rssOf } from './cli-procs.js';
import { tcpConnect, type Opener } from './client.js';
import { cpuMicrosOf } from './memory.js';

/** One peer tunnel running in the reverse topology: a server that listens, an agent that dialled out to it. */
export interface RunningTunnel {
  /** Opens a client connection that reaches the target through server and agent. */
  open: Opener;
  /** CPU (µs) of the tunnel's processes. */
  cpu(): Promise<Record<string, number>>;
  /** RSS (bytes) of server and agent. */
  rss(): { server: number; agent: number };
  stop(): Promise<void>;
}

/** A peer's processes, started for one mode in `dir`; `exposed` is the server port clients use. */
export interface PeerProcesses {
  server: ChildProcess;
  agent: ChildProcess;
  exposed: number;
}

function free(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function run(bin: string, args: string[]): ChildProcess {
  // Their logs are not needed; stderr is kept to report a failed start.
  return spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

async function stopProc(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Resolves once a client connection through the tunnel echoes a byte (the agent has registered
 * and the server listens); 30 s at most.
 */
async function untilEchoes(open: Opener, procs: ChildProcess[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  let stderr = '';
  for (const p of procs) p.stderr?.on('data', (c: Buffer) => void (stderr.length < 8192 && (stderr += c.toString())));
  for (;;) {
    try {
      const s = await open();
      s.write(Buffer.from([0x45, 0x21])); // target-protocol.ts: echo, then one byte
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no echo')), 2_000);
        s.once('data', () => (clearTimeout(timer), resolve()));
        s.once('error', (e) => (clearTimeout(timer), reject(e)));
        s.once('close', () => (clearTimeout(timer), reject(new Error('closed'))));
      });
      s.destroy();
      return;
    } catch (err) {
      if (Date.now() > deadline || procs.some((p) => p.exitCode !== null))
        throw new Error(`the tunnel did not come up (${(err as Error).message}):\n${stderr}`, { cause: err });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Wraps started processes whose server exposes `exposed` for clients. */
export async function tunnelOf(procs: PeerProcesses): Promise<RunningTunnel> {
  const open: Opener = () => tcpConnect(procs.exposed);
  try {
    await untilEchoes(open, [procs.server, procs.agent]);
  } catch (err) {
    await Promise.all([stopProc(procs.agent), stopProc(procs.server)]);
    throw err;
  }
  const pid = (p: ChildProcess): number => p.pid ?? 0;
  return {
    open,
    cpu: () => Promise.resolve({ server: cpuMicrosOf(pid(procs.server)), agent: cpuMicrosOf(pid(procs.agent)) }),
    rss: () => ({ server: rssOf(pid(procs.server)), agent: rssOf(pid(procs.agent)) }),
    async stop() {
      await stopProc(procs.agent);
      await stopProc(procs.server);
    },
  };
}

export type Mode = 'encrypted' | 'plain';

/**
 * chisel: `server --reverse --auth`, SSH (Go crypto/ssh) over a WebSocket; the client asks for
 * `R:` (the server listens, the client dials the target). SSH always encrypts: no plain mode.
 */
export async function startChisel(bin: string, targetPort: number, mode: Mode): Promise<PeerProcesses | undefined> {
  if (mode === 'plain') return undefined;
  const [port, exposed] = [await free(), await free()];
  const server = run(bin, ['server', '--host', '127.0.0.1', '--port', String(port), '--reverse', '--auth', 'bench:bench-pass']);
  await new Promise((r) => setTimeout(r, 300));
  const agent = run(bin, [
    'client',
    '--auth',
    'bench:bench-pass',
    `http://127.0.0.1:${port}`,
    `R:127.0.0.1:${exposed}:127.0.0.1:${targetPort}`,
  ]);
  return { server, agent, exposed };
}

/** frp: one `tcp` proxy with `remotePort`, token auth; TLS between frpc and frps is on by default (`transport.tls.enable`). */
export async function startFrp(bins: Record<string, string>, dir: string, targetPort: number, mode: Mode): Promise<PeerProcesses> {
  const [port, exposed] = [await free(), await free()];
  const serverConf = join(dir, `frps-${mode}.toml`);
  const clientConf = join(dir, `frpc-${mode}.toml`);
  writeFileSync(serverConf, `bindAddr = "127.0.0.1"\nbindPort = ${port}\nauth.token = "bench-token"\n`);
  writeFileSync(
    clientConf,
    [
      `serverAddr = "127.0.0.1"`,
      `serverPort = ${port}`,
      `auth.token = "bench-token"`,
      `transport.tls.enable = ${mode === 'encrypted'}`,
      `[[proxies]]`,
      `name = "bench"`,
      `type = "tcp"`,
      `localIP = "127.0.0.1"`,
      `localPort = ${targetPort}`,
      `remotePort = ${exposed}`,
      '',
    ].join('\n'),
  );
  const server = run(bins['frps'] as string, ['-c', serverConf]);
  await new Promise((r) => setTimeout(r, 300));
  const agent = run(bins['frpc'] as string, ['-c', clientConf]);
  return { server, agent, exposed };
}

/** rathole: one service; transport `noise` (its default Noise_NK_25519_ChaChaPoly_BLAKE2s, keys from --genkey) or `tcp`. */
export async function startRathole(bin: string, dir: string, targetPort: number, mode: Mode): Promise<PeerProcesses> {
  const [port, exposed] = [await free(), await free()];
  let serverNoise = '';
  let clientNoise = '';
  if (mode === 'encrypted') {
    const keys = await new Promise<string>((resolve) => {
      const p = spawn(bin, ['--genkey'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout.on('data', (c: Buffer) => (out += c.toString()));
      p.once('exit', () => resolve(out));
    });
    const [priv, pub] = [...keys.matchAll(/Key:\s*\n(\S+)/g)].map((m) => m[1]);
    if (priv === undefined || pub === undefined) throw new Error(`rathole --genkey printed no keys: ${keys}`);
    serverNoise = `[server.transport.noise]\nlocal_private_key = "${priv}"\n`;
    clientNoise = `[client.transport.noise]\nremote_public_key = "${pub}"\n`;
  }
  const type = mode === 'encrypted' ? 'noise' : 'tcp';
  const serverConf = join(dir, `rathole-server-${mode}.toml`);
  const clientConf = join(dir, `rathole-client-${mode}.toml`);
  writeFileSync(
    serverConf,
    `[server]\nbind_addr = "127.0.0.1:${port}"\n[server.transport]\ntype = "${type}"\n${serverNoise}[server.services.bench]\ntoken = "bench-token"\nbind_addr = "127.0.0.1:${exposed}"\n`,
  );
  writeFileSync(
    clientConf,
    `[client]\nremote_addr = "127.0.0.1:${port}"\n[client.transport]\ntype = "${type}"\n${clientNoise}[client.services.bench]\ntoken = "bench-token"\nlocal_addr = "127.0.0.1:${targetPort}"\n`,
  );
  const server = run(bin, ['--server', serverConf]);
  await new Promise((r) => setTimeout(r, 300));
  const agent = run(bin, ['--client', clientConf]);
  return { server, agent, exposed };
}
