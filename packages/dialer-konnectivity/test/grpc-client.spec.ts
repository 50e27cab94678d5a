import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http2, { type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { SpokeError, type Dialer } from '@spoke/transport-core';
import { readExactly, runNodeFixture } from '@spoke/transport-core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createKonnectivityDialer, type KonnectivityDialerOptions } from '../src/index.js';
import { GrpcClientCall } from '../src/grpc/grpc-client-call.js';
import { encodeGrpcPacket, packetCodec } from '../src/packet-codec.js';
import { readMessages } from '../src/grpc/message-reader.js';
import { closeResponse, dataPacket, dialRequest, dialResponse, PacketType, type Packet } from '../src/packets.js';
import { GrpcServer } from '../src/grpc/grpc-server.js';
import { createTestPki, removePki } from './upstream/harness.js';

// Our gRPC client (node:http2) against HTTP/2 servers written here: a minimal
// /ProxyService/Proxy that answers DIAL_REQ and echoes DATA, and servers that
// answer wrongly. The full protocol against upstream's Go server and ours is in
// client-vs-upstream.spec.ts and compliance.spec.ts.

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface ProxyCallHandle {
  stream: ServerHttp2Stream;
  send(p: Packet): void;
  /** Ends the call with trailers (grpc-status `code`). */
  status(code: number, message?: string): void;
}

/** An HTTP/2 server on a unix socket; `onCall` gets each Proxy call with its packets. */
async function serveProxy(
  onPacket: (call: ProxyCallHandle, p: Packet) => void,
  answer?: (stream: ServerHttp2Stream) => boolean,
): Promise<{ path: string; sessions: ServerHttp2Session[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'spoke-grpc-client-'));
  const path = join(dir, 's.sock');
  const sessions: ServerHttp2Session[] = [];
  const server = http2.createServer();
  server.on('session', (s) => {
    sessions.push(s);
    s.on('error', () => {});
  });
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    if (answer?.(stream)) return;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    let trailers: Record<string, string> = { 'grpc-status': '0' };
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    const call: ProxyCallHandle = {
      stream,
      send: (p) => void stream.write(encodeGrpcPacket(p)),
      status: (code, message) => {
        trailers = { 'grpc-status': String(code), ...(message !== undefined ? { 'grpc-message': message } : {}) };
        stream.end();
      },
    };
    readMessages(
      stream,
      4 << 20,
      packetCodec,
      (p) => onPacket(call, p),
      () => stream.close(),
    );
    // As upstream's server: the call is over once the client half-closes.
    stream.on('end', () => {
      if (!stream.writableEnded) call.status(0);
    });
  });
  server.listen(path);
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const s of sessions) s.destroy();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  return { path, sessions };
}

/** Answers every dial with connectID 7 and echoes DATA. */
const echoProxy = (call: ProxyCallHandle, p: Packet): void => {
  if (p.type === PacketType.DIAL_REQ && p.dialRequest) call.send(dialResponse(p.dialRequest.random, 7n));
  if (p.type === PacketType.DATA && p.data) call.send(dataPacket(p.data.connectID, p.data.data));
};

function dialer(where: string | KonnectivityDialerOptions): Dialer {
  const d = createKonnectivityDialer(typeof where === 'string' ? { mode: 'grpc', uds: where } : where);
  cleanups.push(() => d.close());
  return d;
}

const dial = (d: Dialer): Promise<Duplex> => d.dial('10.0.0.1:80', { signal: AbortSignal.timeout(5_000) });

async function roundTrip(s: Duplex, text: string): Promise<string> {
  s.write(text);
  const answer = readExactly(s, text.length);
  // readExactly leaves the stream paused; a later round trip on it resumes it.
  s.resume();
  return (await answer).toString();
}

describe('gRPC client on node:http2', () => {
  it('carries concurrent dials on one HTTP/2 connection, and opens a new one once the server closed it', async () => {
    const srv = await serveProxy(echoProxy);
    const d = dialer(srv.path);
    const socks = await Promise.all(Array.from({ length: 5 }, () => dial(d)));
    expect(srv.sessions).toHaveLength(1);
    expect(await Promise.all(socks.map((s, i) => roundTrip(s, `hello ${i}`)))).toEqual(socks.map((_, i) => `hello ${i}`));
    for (const s of socks) s.destroy();

    // The dial right after the server dropped the connection may land on it before the client
    // has seen it close: refused unprocessed, it is tried again on a fresh connection.
    srv.sessions[0]?.destroy();
    const again = await dial(d);
    expect(await roundTrip(again, 'after')).toBe('after');
    expect(srv.sessions).toHaveLength(2);
    again.destroy();
  });

  it('after GOAWAY, keeps the open connection for its stream and dials the next on a new one', async () => {
    const srv = await serveProxy(echoProxy);
    const d = dialer(srv.path);
    const old = await dial(d);
    const first = srv.sessions[0];
    // Graceful: the streams the server has seen stay open.
    first?.goaway(http2.constants.NGHTTP2_NO_ERROR, first.state.lastProcStreamID ?? 0);
    // The GOAWAY has to reach the client before the next dial: a round trip on the old stream orders it.
    expect(await roundTrip(old, 'before')).toBe('before');
    const fresh = await dial(d);
    expect(srv.sessions).toHaveLength(2);
    expect(await roundTrip(fresh, 'new')).toBe('new');
    expect(await roundTrip(old, 'still')).toBe('still');
    old.destroy();
    fresh.destroy();
  });

  it('reports the status only after every message before it was read: a paused call loses nothing', async () => {
    const srv = await serveProxy((call, p) => {
      if (p.type !== PacketType.DIAL_REQ || !p.dialRequest) return;
      call.send(dialResponse(p.dialRequest.random, 9n));
      // Within the default 64 KiB stream window, so the trailers arrive while the reader is paused.
      for (let i = 0; i < 4; i++) call.send(dataPacket(9n, Buffer.alloc(8 * 1024, i)));
      call.send(closeResponse(9n));
      call.status(0);
    });
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(srv.path) });
    cleanups.push(() => session.destroy());
    const stream = session.request(
      { ':method': 'POST', ':path': '/ProxyService/Proxy', 'content-type': 'application/grpc', te: 'trailers' },
      { endStream: false },
    );
    const call = new GrpcClientCall(stream, { codec: packetCodec });
    call.pause();
    const got: Packet[] = [];
    let ended = false;
    call.on('data', (p) => got.push(p));
    call.on('end', () => (ended = true));
    call.write(dialRequest('10.0.0.1:80', 5n));
    await once(stream, 'trailers');
    // The status is in, the messages are not read yet: no end so far.
    expect(ended).toBe(false);
    call.resume();
    await once(call, 'end');
    // Everything, in order (a DATA message spread over HTTP/2 frames may come as several DATA packets).
    expect(got[0]?.type).toBe(PacketType.DIAL_RSP);
    expect(got[got.length - 1]?.type).toBe(PacketType.CLOSE_RSP);
    const data = got.slice(1, -1);
    expect(data.every((p) => p.type === PacketType.DATA)).toBe(true);
    expect(
      Buffer.concat(data.map((p) => p.data?.data ?? Buffer.alloc(0))).equals(
        Buffer.concat([0, 1, 2, 3].map((i) => Buffer.alloc(8 * 1024, i))),
      ),
    ).toBe(true);
  });

  it.each([
    ['HTTP 404', (st: ServerHttp2Stream) => st.respond({ ':status': 404 }, { endStream: true }), 'ERR_PROTOCOL', /HTTP status 404/],
    [
      'a 200 that is not gRPC',
      (st: ServerHttp2Stream) => st.respond({ ':status': 200, 'content-type': 'text/html' }, { endStream: true }),
      'ERR_TUNNEL_CLOSED',
      /content-type "text\/html"/,
    ],
    [
      'a trailers-only refusal',
      (st: ServerHttp2Stream) =>
        st.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'no%20token' },
          { endStream: true },
        ),
      'ERR_AUTH_FAILED',
      /no token/,
    ],
    [
      'RST_STREAM(REFUSED_STREAM)',
      (st: ServerHttp2Stream) => st.close(http2.constants.NGHTTP2_REFUSED_STREAM),
      'ERR_TUNNEL_CLOSED',
      /refused the stream/,
    ],
  ] as const)('maps %s to a coded error', async (_name, answer, code, message) => {
    const srv = await serveProxy(echoProxy, (st) => {
      answer(st);
      return true;
    });
    const err = await dial(dialer(srv.path)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe(code);
    expect((err as SpokeError).message).toMatch(message);
  });

  it('keeps one connection to our gRPC server usable over 1,200 sequential dials (no RST_STREAM on a closed stream)', async () => {
    // A Node HTTP/2 server closes a connection after 1,000 invalid frames: a RST_STREAM for a
    // stream both sides had ended was one per dial, and the 1,032nd dial failed.
    const dir = mkdtempSync(join(tmpdir(), 'spoke-grpc-client-'));
    const path = join(dir, 's.sock');
    const grpc = new GrpcServer({
      codec: packetCodec,
      routes: {
        '/ProxyService/Proxy': (call) => {
          call.sendHeaders({});
          call.on('data', (p: Packet) => {
            if (p.type === PacketType.DIAL_REQ && p.dialRequest) call.write(dialResponse(p.dialRequest.random, 1n));
            if (p.type === PacketType.CLOSE_REQ && p.closeRequest) call.write(closeResponse(p.closeRequest.connectID));
          });
          // As upstream's server: the call is over once the client half-closes.
          call.on('end', () => call.end());
        },
      },
    });
    await grpc.listen({ path });
    cleanups.push(() => {
      grpc.destroy();
      rmSync(dir, { recursive: true, force: true });
    });
    const d = dialer(path);
    let dialled = 0;
    for (; dialled < 1200; dialled++) (await dial(d)).destroy();
    expect(dialled).toBe(1200);
  });

  it('tries a call the server refused unprocessed (REFUSED_STREAM) once more, and only once', async () => {
    let streams = 0;
    const once1 = await serveProxy(echoProxy, (st) => {
      // The first stream is refused, as a connection that is closing refuses new streams.
      if (streams++ > 0) return false;
      st.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return true;
    });
    const s = await dial(dialer(once1.path));
    expect(await roundTrip(s, 'second try')).toBe('second try');
    expect(streams).toBe(2);
    s.destroy();

    let refused = 0;
    const always = await serveProxy(echoProxy, (st) => {
      refused++;
      st.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return true;
    });
    const err = await dial(dialer(always.path)).catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_TUNNEL_CLOSED');
    expect(refused).toBe(2);
  });

  it('fails a dial to a unix socket nobody listens on with ERR_TUNNEL_CLOSED naming the socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoke-grpc-client-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const err = await dial(dialer(join(dir, 'none.sock'))).catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_TUNNEL_CLOSED');
    expect((err as SpokeError).message).toContain('none.sock');
  });

  it('reaches the server through `via` in gRPC mode', async () => {
    const srv = await serveProxy(echoProxy);
    let dials = 0;
    const via: Dialer = {
      kind: 'counting',
      dial: async () => {
        dials++;
        const sock = net.connect(srv.path);
        await once(sock, 'connect');
        return sock;
      },
      close: async () => {},
    };
    const d = dialer({ mode: 'grpc', uds: srv.path, via });
    const a = await dial(d);
    const b = await dial(d);
    expect(await roundTrip(a, 'via')).toBe('via');
    expect(await roundTrip(b, 'via too')).toBe('via too');
    expect(dials).toBe(1);
    a.destroy();
    b.destroy();
  });

  it('does not keep the process alive once its calls are over (the dialer left open)', async () => {
    const srv = await serveProxy(echoProxy);
    const here = dirname(fileURLToPath(import.meta.url));
    // Bounded (SIGKILL after 20 s), not a wait: the child should be gone long before.
    expect(await runNodeFixture(join(here, 'fixtures', 'dial-once.ts'), [srv.path])).toEqual({ code: 0, signal: null, out: 'ping\n' });
  });

  describe('over mTLS TCP', () => {
    it('verifies the server certificate (ERR_CERT_UNTRUSTED naming it) and needs HTTP/2 in ALPN (ERR_PROTOCOL)', async () => {
      const pki = createTestPki();
      const other = createTestPki();
      cleanups.push(() => {
        removePki(pki);
        removePki(other);
      });
      const grpc = new GrpcServer({
        codec: packetCodec,
        tls: { cert: pki.serverCertPem, key: pki.serverKeyPem, ca: pki.caPem, requestCert: true },
        routes: {
          '/ProxyService/Proxy': (call) => {
            call.sendHeaders({});
            call.on('data', (p: Packet) => {
              if (p.type === PacketType.DIAL_REQ && p.dialRequest) call.write(dialResponse(p.dialRequest.random, 1n));
            });
          },
        },
      });
      const port = (await grpc.listen({ port: 0, host: '127.0.0.1' })) ?? 0;
      cleanups.push(() => grpc.destroy());
      const tls = { ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem };
      const ok = await dial(dialer({ mode: 'grpc', url: `127.0.0.1:${port}`, tls }));
      ok.destroy();

      const untrusted = await dial(dialer({ mode: 'grpc', url: `127.0.0.1:${port}`, tls: { ...tls, ca: other.caPem } })).catch(
        (e: unknown) => e,
      );
      expect((untrusted as SpokeError).code).toBe('ERR_CERT_UNTRUSTED');

      // An HTTPS server that only speaks HTTP/1.1.
      const h1 = https.createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem, ALPNProtocols: ['http/1.1'] }, (_req, res) =>
        res.end(),
      );
      h1.listen(0, '127.0.0.1');
      await once(h1, 'listening');
      cleanups.push(() => new Promise((r) => h1.close(r)));
      const h1Port = (h1.address() as AddressInfo).port;
      const notH2 = await dial(dialer({ mode: 'grpc', url: `127.0.0.1:${h1Port}`, tls })).catch((e: unknown) => e);
      expect((notH2 as SpokeError).code).toBe('ERR_PROTOCOL');
      expect((notH2 as SpokeError).message).toMatch(/HTTP\/2/);
    });
  });
});
