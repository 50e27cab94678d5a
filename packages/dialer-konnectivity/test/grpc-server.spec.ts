import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { join } from 'node:path';
import { Client, credentials, Metadata, status, type ClientDuplexStream } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GrpcCode } from '../src/grpc/grpc-message.js';
import { decodePacket, encodePacket, packetCodec } from '../src/packet-codec.js';
import { ProxyClient, flowWindowChannelOptions } from './grpc-js-peers.js';
import { dataPacket, dialRequest, dialResponse, PacketType, type Packet } from '../src/packets.js';
import { GrpcServer } from '../src/grpc/grpc-server.js';
import type { PacketCall } from '../src/packet-call.js';
import { createTestPki, removePki, type TestPki } from './upstream/harness.js';

// Our gRPC server on node:http2, checked with grpc-js (a client that knows the rules) and raw HTTP/2.
describe('GrpcServer', () => {
  let pki: TestPki;
  let uds: string;
  let server: GrpcServer<Packet>;
  const seen: { metadata: string[][] } = { metadata: [] };

  /** Echoes every Packet, then ends OK when the client half-closes. */
  const echo = (call: PacketCall): void => {
    seen.metadata.push(call.metadata('x-twice'));
    call.on('data', (p) => call.write(p));
    call.on('end', () => call.end());
  };

  beforeEach(async () => {
    pki = createTestPki();
    uds = join(pki.dir, 'g.sock');
    server = new GrpcServer({ codec: packetCodec, routes: { '/ProxyService/Proxy': echo }, maxMessageBytes: 64 * 1024 });
    await server.listen({ path: uds });
    seen.metadata = [];
  });
  afterEach(() => {
    server.destroy();
    removePki(pki);
  });

  const client = (): InstanceType<typeof ProxyClient> => new ProxyClient(`unix:${uds}`, credentials.createInsecure());
  const finished = <Req>(call: ClientDuplexStream<Req, Packet>): Promise<{ code: number; details: string; packets: Packet[] }> =>
    new Promise((resolve) => {
      const packets: Packet[] = [];
      call.on('data', (p: Packet) => packets.push(p));
      call.on('error', () => {});
      call.on('status', (s: { code: number; details: string }) => resolve({ code: s.code, details: s.details, packets }));
    });

  it('serves a bidi stream to grpc-js: metadata in, packets echoed, OK at the end', async () => {
    const c = client();
    try {
      const md = new Metadata();
      md.add('x-twice', 'one');
      md.add('x-twice', 'two');
      const call = c.proxy(md);
      const done = finished(call);
      call.write(dataPacket(7n, Buffer.from('ping')));
      call.write(dataPacket(8n, Buffer.alloc(40_000, 1)));
      call.end();
      const r = await done;
      expect(r.code).toBe(status.OK);
      // A DATA message spread over HTTP/2 frames may come on as several DATA packets: the bytes per connection are what counts.
      const bytes = (id: bigint): number =>
        r.packets.filter((p) => p.data?.connectID === id).reduce((n, p) => n + (p.data?.data.length ?? 0), 0);
      expect([bytes(7n), bytes(8n)]).toEqual([4, 40_000]);
      expect(r.packets[0]?.data?.data.toString()).toBe('ping');
      expect(seen.metadata).toEqual([['one', 'two']]);
    } finally {
      c.close();
    }
  });

  // Regression: with the connection window of a unix-socket session raised to 4 MiB, Node 20
  // stopped sending on it after a dozen of these streams (the dial-compliance suite's 50
  // concurrent echoes hung). The shape that hangs: a small answer first, then bulk both ways.
  it('keeps 50 concurrent streams moving on one unix-socket connection', async () => {
    const path = join(pki.dir, 'slow.sock');
    const later = (f: () => void): void => void setTimeout(f, 1);
    const slow = new GrpcServer({
      codec: packetCodec,
      routes: {
        '/ProxyService/Proxy': (call) => {
          call.on('data', (p) =>
            later(() => call.write(p.type === PacketType.DIAL_REQ ? dialResponse(p.dialRequest?.random ?? 0n, 5n) : p)),
          );
          call.on('end', () => later(() => call.end()));
        },
      },
    });
    await slow.listen({ path });
    const c = new ProxyClient(`unix:${path}`, credentials.createInsecure(), flowWindowChannelOptions);
    try {
      const lengths = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const call = c.proxy();
          const done = finished(call);
          call.once('data', () => {
            call.write(dataPacket(5n, Buffer.alloc(32 * 1024, i)));
            call.write(dataPacket(5n, Buffer.alloc(32 * 1024, i)));
            call.end();
          });
          call.write(dialRequest('127.0.0.1:1', BigInt(i + 1)));
          const r = await done;
          expect(r.code).toBe(status.OK);
          return r.packets.reduce((n, p) => n + (p.data?.data.length ?? 0), 0);
        }),
      );
      expect(lengths).toEqual(Array.from({ length: 50 }, () => 64 * 1024));
    } finally {
      c.close();
      slow.destroy();
    }
  });

  it('answers an unknown method with UNIMPLEMENTED', async () => {
    const c = new Client(`unix:${uds}`, credentials.createInsecure());
    try {
      const call = c.makeBidiStreamRequest('/AgentService/Connect', encodePacket, decodePacket);
      const r = await finished(call);
      expect(r.code).toBe(status.UNIMPLEMENTED);
      expect(r.details).toContain('/AgentService/Connect');
    } finally {
      c.close();
    }
  });

  it('ends a stream whose message is over the limit with RESOURCE_EXHAUSTED, and keeps serving others', async () => {
    const c = client();
    try {
      const big = c.proxy();
      const r = finished(big);
      big.write(dataPacket(1n, Buffer.alloc(65 * 1024)));
      expect((await r).code).toBe(status.RESOURCE_EXHAUSTED);
      const ok = c.proxy();
      const r2 = finished(ok);
      ok.write(dataPacket(2n, Buffer.from('still here')));
      ok.end();
      expect((await r2).packets[0]?.data?.data.toString()).toBe('still here');
    } finally {
      c.close();
    }
  });

  it('ends a stream that carries a malformed Packet with INTERNAL', async () => {
    const c = new Client(`unix:${uds}`, credentials.createInsecure());
    try {
      const call = c.makeBidiStreamRequest('/ProxyService/Proxy', (b: Buffer) => b, decodePacket);
      const r = finished(call);
      // Field 4 (data), length-delimited, claims 100 bytes and has 1.
      call.write(Buffer.from([0x22, 100, 1]));
      const got = await r;
      expect(got.code).toBe(GrpcCode.INTERNAL);
      expect(got.details).toBe('malformed Packet message');
    } finally {
      c.close();
    }
  });

  it('answers a request that is not gRPC with HTTP 415', async () => {
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(uds) });
    try {
      const req = session.request({ ':method': 'GET', ':path': '/' });
      const [headers] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
      expect(headers[':status']).toBe(415);
      req.resume();
      await once(req, 'end');
    } finally {
      session.destroy();
    }
  });
});

describe('GrpcServer keepalive', () => {
  it('pings idle connections and closes one whose peer never answers', async () => {
    const pki = createTestPki();
    const uds = join(pki.dir, 'k.sock');
    const server = new GrpcServer({ codec: packetCodec, routes: {}, keepaliveTimeMs: 50, keepaliveTimeoutMs: 100 });
    await server.listen({ path: uds });
    const socket = net.connect(uds);
    try {
      // A bare HTTP/2 peer: preface and empty SETTINGS, then silence (no PING ACK).
      socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
      const frames: number[] = [];
      socket.on('data', (b: Buffer) => {
        for (let off = 0; off + 9 <= b.length; off += 9 + b.readUIntBE(off, 3)) frames.push(b[off + 3] as number);
      });
      await once(socket, 'close');
      expect(frames).toContain(6); // PING
    } finally {
      socket.destroy();
      server.destroy();
      removePki(pki);
    }
  });

  it('keeps a connection whose peer answers its pings', async () => {
    const pki = createTestPki();
    const uds = join(pki.dir, 'k.sock');
    const server = new GrpcServer({ codec: packetCodec, routes: {}, keepaliveTimeMs: 30, keepaliveTimeoutMs: 60 });
    await server.listen({ path: uds });
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(uds) });
    try {
      let pings = 0;
      // Node answers PINGs itself; five of them means the server got five answers in time.
      await new Promise<void>((resolve, reject) => {
        session.on('ping', () => ++pings === 5 && resolve());
        session.once('close', () => reject(new Error('server closed a healthy connection')));
      });
      expect(session.closed).toBe(false);
    } finally {
      session.destroy();
      server.destroy();
      removePki(pki);
    }
  });
});
