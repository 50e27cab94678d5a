import net from 'node:net';
import { SpokeError, silentLogger, type Dialer, type SpokeErrorCode } from '@spoke/transport-core';
import { readExactly } from '@spoke/transport-core/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionTracker } from '../connection-tracker.js';
import type { RelayContext } from '../relay.js';
import { TransferStats } from '../transfer-stats.js';
import { serveSocks5 } from './socks5.js';

// The dialer records each target and fails with the code the test asks for, so replies can be checked without dialling.
const dialled: string[] = [];
let failWith: SpokeErrorCode = 'ERR_DIAL_REFUSED';
const recordingDialer: Dialer = {
  kind: 'recording',
  dial: (target) => {
    dialled.push(typeof target === 'string' ? target : JSON.stringify(target));
    return Promise.reject(new SpokeError(failWith, 'test'));
  },
  close: async () => {},
};

describe('SOCKS5 server (RFC 1928) over loopback', () => {
  let server: net.Server;
  let port = 0;
  beforeAll(async () => {
    const relay: RelayContext = {
      dialer: recordingDialer,
      logger: silentLogger,
      stats: new TransferStats(),
      tracker: new ConnectionTracker(),
      dialTimeoutMs: 5000,
      signal: new AbortController().signal,
    };
    server = net.createServer({ allowHalfOpen: true }, (socket) => void serveSocks5(socket, relay, AbortSignal.timeout(5000)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  async function exchange(greeting: number[], request: number[]): Promise<{ method: Buffer; reply: Buffer }> {
    const socket = net.connect(port, '127.0.0.1');
    try {
      socket.write(Buffer.from(greeting));
      const method = await readExactly(socket, 2);
      if (method[1] === 0xff) return { method, reply: Buffer.alloc(0) };
      socket.write(Buffer.from(request));
      return { method, reply: await readExactly(socket, 10) };
    } finally {
      socket.destroy();
    }
  }

  const connect = (atyp: number, address: number[], port: number): number[] => [5, 1, 0, atyp, ...address, port >> 8, port & 0xff];

  it('passes an IPv6 address in canonical form', async () => {
    const v6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5];
    await exchange([5, 1, 0], connect(4, v6, 443));
    expect(dialled.pop()).toBe(JSON.stringify({ host: 'fd00::5', port: 443 }));
  });

  it('passes a domain name unresolved (the far side resolves it)', async () => {
    const name = [...Buffer.from('node-1.cluster.internal')];
    await exchange([5, 1, 0], connect(3, [name.length, ...name], 10250));
    expect(dialled.pop()).toBe(JSON.stringify({ host: 'node-1.cluster.internal', port: 10250 }));
  });

  it.each<[SpokeErrorCode, number]>([
    ['ERR_DIAL_REFUSED', 5],
    ['ERR_DIAL_UNREACHABLE', 4],
    ['ERR_NO_ROUTE', 3],
    ['ERR_DIAL_DENIED', 2],
    ['ERR_DIAL_TIMEOUT', 6],
    ['ERR_TUNNEL_CLOSED', 1],
  ])('%s → reply %d', async (code, reply) => {
    failWith = code;
    const result = await exchange([5, 1, 0], connect(1, [127, 0, 0, 1], 80));
    expect(result.reply[1]).toBe(reply);
  });

  it('refuses clients without the no-auth method, other commands and address types', async () => {
    expect((await exchange([5, 1, 2], [])).method[1]).toBe(0xff);
    expect((await exchange([5, 1, 0], [5, 2, 0, 1, 127, 0, 0, 1, 0, 80])).reply[1]).toBe(7);
    expect((await exchange([5, 1, 0], [5, 1, 0, 9, 0, 0, 0, 0, 0, 0])).reply[1]).toBe(8);
  });
});
