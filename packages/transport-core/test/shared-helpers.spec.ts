import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { SpokeError } from '@spoke/transport-core';
import {
  cidrContains,
  createAllowList,
  createMetricsRegistry,
  endToEndHeaders,
  endToEndRawHeaders,
  listen,
  httpStatusFor,
  normaliseIp,
  onAbort,
  parseAgentIdentifiers,
  parseAllowRule,
  parseCidr,
  parseDuration,
  raceSignal,
  rawHttpError,
  readExactly,
  readUntil,
  serveHealth,
} from '@spoke/transport-core/utils';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A connected loopback socket pair: what we read from, and what the peer writes into. */
async function socketPair(): Promise<{ ours: net.Socket; theirs: net.Socket }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const ours = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [theirs] = await accepted;
  cleanups.push(() => {
    ours.destroy();
    theirs.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { ours, theirs };
}

describe('onAbort / raceSignal', () => {
  it('runs once on abort, never after detach, at once for an aborted signal', () => {
    const calls: unknown[] = [];
    const c = new AbortController();
    const detach = onAbort(c.signal, (r) => calls.push(r));
    c.abort('first');
    c.abort('second');
    expect(calls).toEqual(['first']);
    const c2 = new AbortController();
    onAbort(c2.signal, (r) => calls.push(r))();
    c2.abort('ignored');
    expect(calls).toEqual(['first']);
    onAbort(AbortSignal.abort('already'), (r) => calls.push(r));
    expect(calls).toEqual(['first', 'already']);
    detach();
  });

  it('settles with the promise, or rejects as a dial does when the signal wins', async () => {
    await expect(raceSignal(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
    const c = new AbortController();
    const racing = raceSignal(new Promise(() => {}), c.signal);
    c.abort();
    await expect(racing).rejects.toMatchObject({ name: 'AbortError' });
    await expect(raceSignal(new Promise(() => {}), AbortSignal.timeout(1))).rejects.toMatchObject({ code: 'ERR_DIAL_TIMEOUT' });
  });
});

describe('readExactly / readUntil', () => {
  it('reads a head split over many writes and leaves the rest for the next reader', async () => {
    const { ours, theirs } = await socketPair();
    const head = readUntil(ours, '\r\n\r\n', { maxBytes: 1024, what: 'the test head' });
    for (const part of ['HTTP/1.1 200 OK\r', '\n', 'X: y\r\n\r', '\nBODY']) theirs.write(part);
    expect((await head).toString()).toBe('HTTP/1.1 200 OK\r\nX: y\r\n\r\n');
    expect((await readExactly(ours, 4)).toString()).toBe('BODY');
  });

  it('refuses a head longer than maxBytes before buffering more (ERR_PROTOCOL)', async () => {
    const { ours, theirs } = await socketPair();
    const head = readUntil(ours, '\r\n\r\n', { maxBytes: 64, what: 'the test head' });
    theirs.write('x'.repeat(200));
    await expect(head).rejects.toMatchObject({ code: 'ERR_PROTOCOL' });
    await expect(head).rejects.toThrow('64 bytes');
  });

  it('a peer that closes midway is ERR_PROTOCOL; a deadline is ERR_HANDSHAKE_TIMEOUT', async () => {
    const a = await socketPair();
    const exact = readExactly(a.ours, 10, { what: 'the greeting' });
    a.theirs.end('short');
    await expect(exact).rejects.toMatchObject({ code: 'ERR_PROTOCOL' });
    await expect(exact).rejects.toThrow('the greeting');
    const b = await socketPair();
    await expect(readUntil(b.ours, '\n', { maxBytes: 10, signal: AbortSignal.timeout(20) })).rejects.toMatchObject({
      code: 'ERR_HANDSHAKE_TIMEOUT',
    });
  });
});

describe('HTTP answers for failed dials', () => {
  it('maps codes to one set of statuses', () => {
    const status = (code: ConstructorParameters<typeof SpokeError>[0]): number => httpStatusFor(new SpokeError(code, 'x'));
    expect(status('ERR_BAD_TARGET')).toBe(400);
    expect(status('ERR_DIAL_DENIED')).toBe(403);
    expect(status('ERR_DIAL_TIMEOUT')).toBe(504);
    expect(status('ERR_NO_ROUTE')).toBe(503);
    expect(status('ERR_TUNNEL_CLOSED')).toBe(502);
    expect(status('ERR_DIAL_REFUSED')).toBe(502);
    expect(httpStatusFor(new Error('plain'))).toBe(502);
  });

  it('writes a raw response carrying the code', () => {
    const text = rawHttpError(new SpokeError('ERR_DIAL_DENIED', 'outside --allow'), 'spoke hub');
    expect(text).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(text).toContain('X-Spoke-Error-Code: ERR_DIAL_DENIED\r\n');
    expect(text.endsWith('\r\n\r\nspoke hub: ERR_DIAL_DENIED: outside --allow\n')).toBe(true);
  });
});

describe('serveHealth', () => {
  it('serves /healthz, /readyz and /metrics and leaves other paths to the caller', async () => {
    let ready = false;
    const registry = createMetricsRegistry();
    registry.gauge('spoke_test_streams', 'streams by kind', () => [
      [{ kind: 'a' }, 2],
      [{ kind: 'b' }, 3],
    ]);
    const server = http.createServer((req, res) => {
      if (!serveHealth(req, res, { ready: () => ({ ok: ready, text: ready ? 'ok' : 'no agent' }), metrics: () => registry.render() })) {
        res.writeHead(404).end();
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const get = async (path: string): Promise<[number, string]> => {
      const res = await fetch(base + path);
      return [res.status, await res.text()];
    };
    expect(await get('/healthz')).toEqual([200, 'ok\n']);
    expect(await get('/readyz')).toEqual([503, 'no agent\n']);
    ready = true;
    expect(await get('/readyz')).toEqual([200, 'ok\n']);
    const [status, metrics] = await get('/metrics');
    expect(status).toBe(200);
    expect(metrics).toContain('spoke_test_streams{kind="a"} 2\nspoke_test_streams{kind="b"} 3');
    expect((await get('/other'))[0]).toBe(404);
  });
});

describe('parseDuration', () => {
  it('reads Go durations, and bare seconds where asked', () => {
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('10', { bareSeconds: true })).toBe(10_000);
    expect(() => parseDuration('10')).toThrowError(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
    expect(() => parseDuration('5 parsecs', { name: '--timeout' })).toThrowError(/--timeout takes a duration/);
  });
});

describe('cidr and allow lists', () => {
  it('checks networks, and an IPv4-mapped IPv6 address only as the IPv4 address it carries', () => {
    expect(cidrContains(parseCidr('10.0.0.0/8'), '10.200.3.4')).toBe(true);
    expect(cidrContains(parseCidr('fd00::/64'), 'fd00::1:2')).toBe(true);
    expect(cidrContains(parseCidr('fd00::/64'), 'fd00:0:0:1::1')).toBe(false);
    expect(cidrContains(parseCidr('127.0.0.0/8'), '::ffff:127.0.0.1')).toBe(true);
    expect(cidrContains(parseCidr('127.0.0.0/8'), '::ffff:7f00:1')).toBe(true);
    expect(cidrContains(parseCidr('::/0'), '::ffff:127.0.0.1')).toBe(false);
    expect(cidrContains(parseCidr('::ffff:10.0.0.0/104'), '10.1.2.3')).toBe(true);
    expect(normaliseIp('[::ffff:10.0.0.1]')).toEqual({ address: '10.0.0.1', family: 'ipv4' });
    expect(() => parseCidr('10.0.0.0/33')).toThrowError(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
  });

  it('parses rules with ports and host names', () => {
    expect(parseAllowRule('10.0.0.0/24:8000-9000')).toMatchObject({ fromPort: 8000, toPort: 9000, host: undefined });
    expect(parseAllowRule('[fd00::/64]:443')).toMatchObject({ fromPort: 443, toPort: 443 });
    expect(parseAllowRule('Node-1.internal:10250')).toMatchObject({ host: 'node-1.internal', cidr: undefined });
    expect(() => parseAllowRule('10.0.0.0/24:0')).toThrowError(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
    expect(() => parseAllowRule('bad host!')).toThrowError(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
  });

  it('denies by default, checks every resolved address and dials the checked one', async () => {
    const list = createAllowList(['10.0.0.0/24:22', 'named.internal:80'], {
      resolve: (host) => Promise.resolve(host === 'split.internal' ? ['10.0.0.5', '192.168.1.1'] : ['10.0.0.7']),
    });
    await expect(list.check({ host: '10.0.0.9', port: 22 })).resolves.toEqual({ host: '10.0.0.9', port: 22 });
    await expect(list.check({ host: '::ffff:10.0.0.9', port: 22 })).resolves.toMatchObject({ port: 22 });
    await expect(list.check({ host: '10.0.0.9', port: 23 })).rejects.toMatchObject({ code: 'ERR_DIAL_DENIED' });
    await expect(list.check({ host: 'ok.internal', port: 22 })).resolves.toEqual({ host: '10.0.0.7', port: 22 });
    await expect(list.check({ host: 'split.internal', port: 22 })).rejects.toMatchObject({ code: 'ERR_DIAL_DENIED' });
    await expect(list.check({ host: 'named.internal', port: 80 })).resolves.toEqual({ host: 'named.internal', port: 80 });
    await expect(list.check({ path: '/run/docker.sock' })).rejects.toMatchObject({ code: 'ERR_DIAL_DENIED' });
    await expect(createAllowList([]).check({ host: '10.0.0.1', port: 1 })).rejects.toMatchObject({ code: 'ERR_DIAL_DENIED' });
  });
});

describe('parseAgentIdentifiers', () => {
  it('reads repeated and comma-separated values; default-route as Go ParseBool of the first value', () => {
    const ids = parseAgentIdentifiers(
      'host=node-1&ipv4=10.0.0.5,10.0.0.6&ipv6=fd00::5&cidr=10.0.0.0/24&default-route=True&default-route=false',
    );
    expect(ids).toEqual({ host: ['node-1'], ipv4: ['10.0.0.5', '10.0.0.6'], ipv6: ['fd00::5'], cidr: ['10.0.0.0/24'], defaultRoute: true });
  });

  it('is strict for agents and lenient for servers', () => {
    expect(() => parseAgentIdentifiers('zone=a')).toThrowError(/unknown identifier "zone"/);
    expect(() => parseAgentIdentifiers('ipv4=fd00::1')).toThrowError(/not an IPv4/);
    expect(parseAgentIdentifiers('zone=a&ipv4=nope&host=h', { strict: false })).toMatchObject({ host: ['h'], ipv4: [] });
  });
});

describe('listen', () => {
  it('resolves to the bound address, names the address when it is taken, and stops on abort', async () => {
    const a = net.createServer();
    cleanups.push(() => new Promise<void>((r) => a.close(() => r())));
    const bound = await listen(a, { host: '127.0.0.1', port: 0 });
    expect(typeof bound === 'object' && bound.port > 0).toBe(true);
    const port = (bound as net.AddressInfo).port;
    const taken = listen(net.createServer(), { host: '127.0.0.1', port }, { what: 'The test server' });
    await expect(taken).rejects.toMatchObject({ code: 'ERR_BAD_OPTION' });
    await expect(taken).rejects.toThrow(`The test server cannot listen on 127.0.0.1:${port}: the address is already in use`);
    const c = new AbortController();
    c.abort();
    const b = net.createServer();
    await expect(listen(b, { host: '127.0.0.1', port: 0 }, { signal: c.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(b.listening).toBe(false);
  });
});

describe('end-to-end headers', () => {
  it('drops hop-by-hop headers, those Connection names, and the caller’s own', () => {
    const raw = [
      'Host',
      'a',
      'Connection',
      'keep-alive, X-Hop',
      'X-Hop',
      '1',
      'Transfer-Encoding',
      'chunked',
      'X-Keep',
      '2',
      'Authorization',
      't',
    ];
    expect(endToEndRawHeaders(raw)).toEqual(['Host', 'a', 'X-Keep', '2', 'Authorization', 't']);
    expect(endToEndRawHeaders(raw, new Set(['host', 'authorization']))).toEqual(['X-Keep', '2']);
    expect(endToEndHeaders({ connection: 'x-hop', 'x-hop': '1', upgrade: 'websocket', 'x-keep': '2' })).toEqual({ 'x-keep': '2' });
  });
});
