import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { waitFor } from './bytes.js';
import { TCP_STATE, loopbackTcpRows, type LoopbackTcpRow } from './proc-net-tcp.js';

/** A TCP address on 127.0.0.1 whose connects never complete. */
export interface HangingTarget {
  target: { host: string; port: number };
  /**
   * Resolves once a connection attempt to `target` is pending: a SYN that nobody
   * answers, sent by any process on this host (a dialer, an agent, sshd...).
   * Rejects when none shows up within `timeoutMs` (default 30 s).
   */
  attempted(options?: { timeoutMs?: number }): Promise<void>;
  /** Connection attempts to `target` pending now, not counting the target's own. */
  pendingAttempts(): Promise<number>;
  close(): Promise<void>;
}

// Linux puts a connection in a listener's accept queue while the queue holds no more
// than the backlog, and drops every SYN once it holds more: connect() then hangs,
// exactly like a black-holed host, without leaving loopback.
const BACKLOG = 1;

// Stops itself (SIGSTOP) synchronously after reporting the port, so it never
// returns to its event loop and never accepts anything.
const CHILD = `
const net = require('node:net');
const fs = require('node:fs');
const s = net.createServer();
s.listen({ host: '127.0.0.1', port: 0, backlog: ${BACKLOG} }, () => {
  fs.writeSync(1, String(s.address().port) + '\\n');
  process.kill(process.pid, 'SIGSTOP');
});
`;

const MAX_FILLERS = 16;

/**
 * Starts a listener that never accepts and fills its accept queue, so that
 * further connects to it hang. For abort and timeout tests of real network
 * dialers. Linux only: it reads /proc/net/tcp to know the queue is full and to
 * see connection attempts, instead of guessing from how long nothing happened.
 */
export async function createHangingTarget(): Promise<HangingTarget> {
  const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
  // A stopped child does not notice that we exit: kill it with us if close() never runs.
  const killChild = (): void => void child.kill('SIGKILL');
  process.once('exit', killChild);
  const fillers: net.Socket[] = [];
  const close = async (): Promise<void> => {
    process.off('exit', killChild);
    for (const s of fillers) s.destroy();
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  };
  try {
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const port = Number(String(line).trim());
    await fillAcceptQueue(port, fillers);
    const ownPorts = (): Set<number> => new Set(fillers.map((s) => s.localPort ?? 0));
    const pendingAttempts = async (): Promise<number> => {
      const own = ownPorts();
      return (await loopbackTcpRows()).filter((r) => r.state === TCP_STATE.synSent && r.remotePort === port && !own.has(r.localPort))
        .length;
    };
    return {
      target: { host: '127.0.0.1', port },
      attempted: ({ timeoutMs = 30_000 } = {}) =>
        waitFor(async () => (await pendingAttempts()) > 0, `a connection attempt to the hanging target 127.0.0.1:${port}`, timeoutMs),
      pendingAttempts,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Connects fillers one at a time until the kernel shows the queue full: either
 * the listener holds more than its backlog, or a filler's SYN went unanswered
 * and was sent again (so this also works where the queue's limit differs).
 */
async function fillAcceptQueue(port: number, fillers: net.Socket[]): Promise<void> {
  const listener = async (): Promise<LoopbackTcpRow> => {
    const row = (await loopbackTcpRows()).find((r) => r.state === TCP_STATE.listen && r.localPort === port);
    if (!row) throw new Error(`the hanging target's listener on 127.0.0.1:${port} is not in /proc/net/tcp`);
    return row;
  };
  while ((await listener()).acceptQueue <= BACKLOG) {
    if (fillers.length >= MAX_FILLERS) throw new Error(`${MAX_FILLERS} connections did not fill the accept queue of 127.0.0.1:${port}`);
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    fillers.push(s);
    let connected = false;
    s.once('connect', () => (connected = true));
    let unanswered = false;
    await waitFor(
      async () => {
        if (connected) return true;
        const row = (await loopbackTcpRows()).find((r) => r.localPort === s.localPort && r.remotePort === port);
        unanswered = row !== undefined && row.state === TCP_STATE.synSent && row.retransmits > 0;
        return unanswered;
      },
      `a filler connection to 127.0.0.1:${port} to connect or be dropped`,
      30_000,
    );
    if (unanswered) return;
  }
}
