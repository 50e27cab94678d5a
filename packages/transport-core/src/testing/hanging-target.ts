import { spawn } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';

/** A TCP address on 127.0.0.1 whose connects never complete. */
export interface HangingTarget {
  target: { host: string; port: number };
  close(): Promise<void>;
}

// The child listens with a backlog of 1 (Node turns 0 into 511) and is then stopped (SIGSTOP): it
// never accepts, so once its accept queue is full the kernel drops further
// SYNs and connect() hangs, exactly like a black-holed host, without leaving
// loopback.
const CHILD = `
const net = require('node:net');
const s = net.createServer();
s.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => process.stdout.write(String(s.address().port) + '\\n'));
`;

/**
 * Starts a listener that never accepts and fills its queue, so that the next
 * connects to it hang. For abort and timeout tests of real network dialers.
 */
export async function createHangingTarget(): Promise<HangingTarget> {
  const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const port = Number(String(line).trim());
  child.kill('SIGSTOP');
  const fillers: net.Socket[] = [];
  // Fill the accept queue: connects that complete are queued; stop at the first that doesn't.
  for (let i = 0; i < 8; i++) {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    fillers.push(s);
    const done = await Promise.race([once(s, 'connect').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);
    if (!done) break;
  }
  return {
    target: { host: '127.0.0.1', port },
    async close() {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    },
  };
}
