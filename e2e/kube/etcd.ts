import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitForOutput } from '@spoke/transport-core/testing';
import { freePort } from '@spoke/transport-core/testing';
import { OutputTail, stopChild } from './processes.js';

/** A single-member etcd on loopback (Debian's etcd-server package). */
export interface Etcd {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts etcd with its data in `dir`; resolves once it serves clients. */
export async function startEtcd(dir: string): Promise<Etcd> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    'etcd',
    [
      '--name=e2e',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=e2e=${peer}`,
      // Tests write little; a small quota and no fsync-heavy snapshots keep it light.
      '--quota-backend-bytes=268435456',
      '--snapshot-count=10000',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const tail = new OutputTail(child);
  try {
    await waitForOutput(child, /ready to serve client requests/, 'etcd', 30_000);
  } catch (err) {
    await stopChild(child);
    throw new Error(
      `etcd did not start (Debian package etcd-server; scripts/peers.mjs installs it): ${(err as Error).message}\n${tail.toString()}`,
      {
        cause: err,
      },
    );
  }
  return { url, stop: () => stopChild(child) };
}
