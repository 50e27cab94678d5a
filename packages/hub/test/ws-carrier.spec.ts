import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { certFingerprint, isLoopbackHost, type Dialer, type Session } from '@spoke/transport-core';
import { frameLimit } from '@spoke/transport-core/protocol';
import { createSelfSignedCertificate, type CertifiedKey } from '@spoke/transport-core/pki';
import { connectToHub, sessionOverWebSocket } from '@spoke/hub';
import WebSocket, { WebSocketServer } from 'ws';
import { closed, readDigest, waitFor, writeBytes, type Digest } from '@spoke/transport-core/testing';
import { FramePool, dataFramePool } from '../src/frame-pool.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A WebSocket server reduced to what the test needs: it accepts the upgrade
 * and reports the masking key of the first frame the client sends.
 */
async function maskProbe(secure: boolean): Promise<{ port: number; firstMask: Promise<Buffer>; tls: CertifiedKey | undefined }> {
  const tls = secure ? createSelfSignedCertificate({ commonName: 'hub.example', altNames: ['hub.example', '127.0.0.1'] }) : undefined;
  const server = tls ? https.createServer({ cert: tls.cert, key: tls.key }) : http.createServer();
  const firstMask = new Promise<Buffer>((resolve) => {
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
      const accept = createHash('sha1')
        .update(`${req.headers['sec-websocket-key'] as string}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      let got = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        // Client frames are always masked: 2 header bytes (length < 126 here), then the 4-byte key.
        if (got.length >= 6) {
          expect(got[1]! & 0x80).toBe(0x80);
          resolve(got.subarray(2, 6));
          socket.destroy();
        }
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as net.AddressInfo).port, firstMask, tls };
}

/** Reaches the probe whatever host the URL names (so a non-loopback name stays on loopback). */
function toProbe(port: number): Dialer {
  return {
    kind: 'test',
    dial: async () => {
      const s = net.connect({ host: '127.0.0.1', port });
      await once(s, 'connect');
      return s;
    },
    close: async () => {},
  };
}

describe('WebSocket masking of hub clients (PROTOCOL.md §1)', () => {
  it.each([
    ['ws:// to a loopback address', 'ws://127.0.0.1', false, true],
    ['wss:// to a remote name', 'wss://hub.example', true, true],
    ['ws:// to a remote name', 'ws://hub.example', false, false],
  ])('%s: zero key %s', async (_name, base, secure, zero) => {
    const probe = await maskProbe(secure);
    const ws = await connectToHub({
      url: `${base}:${probe.port}`,
      path: '/v1/agent',
      insecurePlaintext: !secure,
      via: toProbe(probe.port),
      ...(probe.tls ? { tls: { fingerprint: certFingerprint(probe.tls.x509) } } : {}),
    });
    cleanups.push(() => ws.terminate());
    ws.send(Buffer.from('spoke'));
    const key = await probe.firstMask;
    expect(key.equals(Buffer.alloc(4))).toBe(zero);
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['localhost', true],
    ['128.0.0.1', false],
    ['127.0.0.1.example', false],
    ['hub.example', false],
    ['::', false],
  ])('%s → %s', (host, loopback) => expect(isLoopbackHost(host)).toBe(loopback));
});

describe('FramePool', () => {
  it('hands out exact-length views and reuses released slabs', () => {
    const pool = new FramePool(1024, 2);
    const a = pool.take(100);
    expect(a.length).toBe(100);
    pool.release(a);
    expect(pool.idle).toBe(1);
    const b = pool.take(1024);
    expect(b.buffer).toBe(a.buffer);
    expect(pool.idle).toBe(0);
  });

  it('never pools oversized buffers and keeps at most maxFree idle slabs', () => {
    const pool = new FramePool(1024, 2);
    const big = pool.take(4096);
    expect(big.length).toBe(4096);
    pool.release(big);
    expect(pool.idle).toBe(0);
    const slabs = [pool.take(10), pool.take(10), pool.take(10)];
    for (const s of slabs) pool.release(s);
    expect(pool.idle).toBe(2);
  });
});

describe('WebSocket carrier: pooled DATA frames', () => {
  it('a frame buffer is reused only after the socket wrote it: data queued behind a stalled peer stays intact', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: frameLimit(64 * 1024) });
    await once(wss, 'listening');
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    const accepted = new Promise<{ ws: WebSocket; session: Session }>((resolve) =>
      wss.once('connection', (ws) => resolve({ ws, session: sessionOverWebSocket(ws, { role: 'responder' }) })),
    );
    // The server sends unmasked, so ws writes our pooled buffers as they are (a masking client
    // would copy them).
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}/`, { perMessageDeflate: false });
    const initiator = sessionOverWebSocket(client, {
      role: 'initiator',
      initialWindow: 16 * 1024 * 1024,
      sessionWindow: 128 * 1024 * 1024,
    });
    const { ws: serverWs, session: responder } = await accepted;
    cleanups.push(() => {
      initiator.destroy();
      responder.destroy();
    });
    const received: Array<Promise<Digest>> = [];
    initiator.on('stream', (s: Duplex) => {
      s.end();
      received.push(readDigest(s));
    });
    await initiator.ready();
    const streams = await Promise.all(Array.from({ length: 4 }, () => responder.dial('sink.local:1')));
    for (const s of streams) s.resume();
    // Stop reading on the far side: the kernel buffers fill (the windows allow far more than they
    // hold) and ws queues our frames in memory.
    client.pause();
    const sent = Promise.all(streams.map((s) => writeBytes(s, 8 * 1024 * 1024)));
    await waitFor(() => serverWs.bufferedAmount > 512 * 1024, 'frames to queue behind the stalled peer');
    client.resume();
    const digests = await sent;
    expect(await Promise.all(received)).toEqual(expect.arrayContaining(digests));
    await Promise.all(streams.map((s) => closed(s)));
    // Slabs came back once written, and no more than the pool's bound stay idle.
    expect(dataFramePool.idle).toBeGreaterThan(0);
    expect(dataFramePool.idle).toBeLessThanOrEqual(32);
  });
});
