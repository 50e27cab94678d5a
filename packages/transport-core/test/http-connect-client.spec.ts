import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { SpokeError } from '@spoke/transport-core';
import {
  connectRequestHead,
  httpConnectClient,
  parseConnectResponseHead,
  readUntil,
  type HttpConnectClientOptions,
  type HttpConnectResult,
} from '@spoke/transport-core/utils';
import { readAll } from '@spoke/transport-core/testing';

describe('connectRequestHead and parseConnectResponseHead', () => {
  it('writes the request line, Host and the extra headers in order', () => {
    expect(connectRequestHead('[::1]:443', { 'Proxy-Authorization': 'Basic eDp5', 'X-A': 'b' })).toBe(
      'CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\nProxy-Authorization: Basic eDp5\r\nX-A: b\r\n\r\n',
    );
  });

  it('reads the status, reason phrase and headers (names lower-cased)', () => {
    const p = parseConnectResponseHead('HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nX-N:  1 \r\n\r\n');
    expect(p).toEqual({
      ok: true,
      response: {
        status: 407,
        statusText: 'Proxy Authentication Required',
        headers: new Map([
          ['proxy-authenticate', 'Basic'],
          ['x-n', '1'],
        ]),
      },
    });
    expect(parseConnectResponseHead(Buffer.from('HTTP/1.1 200\r\n\r\n'))).toMatchObject({
      ok: true,
      response: { status: 200, statusText: '' },
    });
  });

  it('says why a head is not HTTP/1.x', () => {
    expect(parseConnectResponseHead('SSH-2.0-OpenSSH\r\n\r\n')).toEqual({
      ok: false,
      why: 'it answered "SSH-2.0-OpenSSH" instead of an HTTP/1.x status line',
    });
    expect(parseConnectResponseHead('HTTP/1.1 200 OK\r\nno colon\r\n\r\n')).toEqual({
      ok: false,
      why: 'it sent a malformed header line "no colon"',
    });
  });
});

describe('httpConnectClient against a real TCP peer', () => {
  const servers: net.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  /** A peer that calls `answer` once the CONNECT head arrived; it records the request head. */
  async function peer(answer: (socket: net.Socket) => void): Promise<{ port: number; requests: string[] }> {
    const requests: string[] = [];
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      readUntil(socket, '\r\n\r\n', { maxBytes: 4096 }).then(
        (head) => {
          requests.push(head.toString('latin1'));
          answer(socket);
        },
        () => socket.destroy(),
      );
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as net.AddressInfo).port, requests };
  }

  async function run(
    port: number,
    options: Partial<HttpConnectClientOptions> = {},
  ): Promise<{ socket: net.Socket; result: Promise<HttpConnectResult> }> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const result = httpConnectClient(socket, {
      authority: 'target:443',
      signal: AbortSignal.timeout(10_000),
      dial: { target: 'target:443', hop: 'test proxy' },
      protocolError: (why) => new SpokeError('ERR_PROTOCOL', `test proxy: ${why}`),
      ...options,
    });
    return { socket, result };
  }

  async function tunnel(result: Promise<HttpConnectResult>): Promise<Duplex> {
    const r = await result;
    if (!r.ok) throw new Error(`refused with ${r.response.status}`);
    return r.stream;
  }

  it('hands back the stream with the bytes that came in the same write as a 2xx head', async () => {
    const p = await peer((s) => s.end('HTTP/1.1 200 Connection established\r\nVia: test\r\n\r\nhello'));
    const { result } = await run(p.port, { headers: { 'X-Trace': 't1' } });
    expect(await readAll(await tunnel(result))).toEqual(Buffer.from('hello'));
    expect(p.requests).toEqual(['CONNECT target:443 HTTP/1.1\r\nHost: target:443\r\nX-Trace: t1\r\n\r\n']);
  });

  it('reads a refusal body up to its Content-Length, over several writes, and destroys the stream', async () => {
    const p = await peer((s) => {
      s.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 11\r\n\r\nnot ');
      setImmediate(() => s.write('allowed'));
    });
    const { socket, result } = await run(p.port);
    const r = await result;
    expect(r).toMatchObject({ ok: false, response: { status: 403, statusText: 'Forbidden' }, body: 'not allowed' });
    expect(socket.destroyed).toBe(true);
  });

  it('quotes only what arrived of a body without Content-Length, not waiting for a close', async () => {
    // The peer keeps the connection open: waiting for its close would hang until the test times out.
    const p = await peer((s) => s.write('HTTP/1.1 502 Bad Gateway\r\n\r\nupstream down'));
    const { result } = await run(p.port);
    expect(await result).toMatchObject({ ok: false, response: { status: 502 }, body: 'upstream down' });
  });

  it('with bodyUntilClose, reads the body until the close, at most maxBodyBytes', async () => {
    const p = await peer((s) => {
      s.write('HTTP/1.1 500 Internal Server Error\r\n\r\n');
      setImmediate(() => s.end('x'.repeat(100)));
    });
    const { result } = await run(p.port, { bodyUntilClose: true, maxBodyBytes: 40 });
    expect(await result).toMatchObject({ ok: false, body: 'x'.repeat(40) });
  });

  it('bounds the head with protocolError, and fails a close before any answer the same way', async () => {
    const big = await peer((s) => s.write(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(200)}\r\n\r\n`));
    const a = await run(big.port, { maxHeadBytes: 100 });
    await expect(a.result).rejects.toMatchObject({
      code: 'ERR_PROTOCOL',
      message: 'test proxy: its response head is larger than 100 bytes',
    });
    expect(a.socket.destroyed).toBe(true);
    const silent = await peer((s) => s.end());
    const b = await run(silent.port);
    await expect(b.result).rejects.toMatchObject({
      code: 'ERR_PROTOCOL',
      message: 'test proxy: it closed the connection before answering the CONNECT request',
    });
  });

  it('turns a reset into a dial error and an abort into its reason', async () => {
    const reset = await peer((s) => s.resetAndDestroy());
    const a = await run(reset.port);
    const err = await a.result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).not.toBe('ERR_PROTOCOL');
    const mute = await peer(() => {});
    const controller = new AbortController();
    const b = await run(mute.port, { signal: controller.signal });
    controller.abort(new DOMException('too slow', 'TimeoutError'));
    await expect(b.result).rejects.toMatchObject({ code: 'ERR_DIAL_TIMEOUT' });
    expect(b.socket.destroyed).toBe(true);
  });

  it('with earlyData, keeps tunnel bytes that arrive ahead of the exact success head', async () => {
    const head = 'HTTP/1.1 200 Connection Established\r\n\r\n';
    const p = await peer((s) => {
      s.write('early\r\n\r\n');
      setImmediate(() => s.end(`${head}late`));
    });
    const { result } = await run(p.port, { earlyData: { head, maxBytes: 1024 } });
    expect((await readAll(await tunnel(result))).toString()).toBe('early\r\n\r\nlate');
    const flood = await peer((s) => s.write('z'.repeat(4096)));
    const f = await run(flood.port, { earlyData: { head, maxBytes: 1024 } });
    await expect(f.result).rejects.toMatchObject({
      code: 'ERR_PROTOCOL',
      message: expect.stringContaining('without an HTTP answer') as string,
    });
  });
});
