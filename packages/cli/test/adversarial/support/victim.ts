import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { CliProcess } from '../../support/cli-process.js';
import { waitFor } from '@spoke/transport-core/testing';

export const MiB = 1024 * 1024;

/** What the kernel says about a process: resident memory, open descriptors, CPU time used so far. */
export interface Sample {
  rss: number;
  fds: number;
  cpuMs: number;
}

/** Linux's USER_HZ: /proc/PID/stat counts CPU time in 1/100 s on every architecture Node runs on. */
const TICK_MS = 10;

function pidOf(victim: CliProcess): number {
  const pid = victim.child.pid;
  if (pid === undefined) throw new Error('the victim process has no pid');
  return pid;
}

/** Measures `victim` from /proc: VmRSS, the entries of /proc/PID/fd, utime + stime. */
export function sample(victim: CliProcess): Sample {
  const pid = pidOf(victim);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rss: rssKiB * 1024, fds: readdirSync(`/proc/${pid}/fd`).length, cpuMs: ticks * TICK_MS };
}

/**
 * Samples `victim` every 50 ms while `attack` runs and returns the largest RSS seen and the CPU
 * time the victim spent meanwhile, with the attack's result.
 */
export async function during<T>(victim: CliProcess, attack: () => Promise<T>): Promise<{ result: T; peakRss: number; cpuMs: number }> {
  const start = sample(victim);
  let peakRss = start.rss;
  const timer = setInterval(() => {
    if (victim.child.exitCode === null) peakRss = Math.max(peakRss, sample(victim).rss);
  }, 50);
  try {
    const result = await attack();
    const end = sample(victim);
    return { result, peakRss: Math.max(peakRss, end.rss), cpuMs: end.cpuMs - start.cpuMs };
  } finally {
    clearInterval(timer);
  }
}

/** Resolves once `victim` holds at most `baseline + slack` descriptors (the attack's are released); rejects after `boundMs`. */
export async function fdsBackTo(victim: CliProcess, baseline: number, slack: number, boundMs = 10_000): Promise<number> {
  let now = Infinity;
  try {
    await waitFor(
      () => {
        now = sample(victim).fds;
        return now <= baseline + slack;
      },
      `fds of pid ${pidOf(victim)} back to ${baseline} + ${slack}`,
      boundMs,
    );
  } catch (err) {
    // Say which descriptors are left (sockets, pipes, files), not just how many.
    const dir = `/proc/${pidOf(victim)}/fd`;
    const left = readdirSync(dir).map((fd) => {
      try {
        return readlinkSync(`${dir}/${fd}`);
      } catch {
        return '?';
      }
    });
    throw new Error(`${(err as Error).message}: ${now} open: ${left.join(' ')}`, { cause: err });
  }
  return now;
}

/** Something with a close event: a socket, a TLS socket, an HTTP/2 session. */
interface Closable {
  once(event: 'close', listener: () => void): unknown;
  readonly destroyed: boolean;
}

/** Resolves with the milliseconds until `peer` closes; rejects if it is still open after `boundMs`. */
export function closedWithin(peer: Closable, boundMs: number, what = 'connection'): Promise<number> {
  const start = performance.now();
  if (peer.destroyed) return Promise.resolve(0);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} still open after ${boundMs} ms`)), boundMs);
    peer.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - start);
    });
  });
}

/** `n` MiB, for messages. */
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
