import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import {
  SpokeError,
  createHttpAgent,
  createHttpsAgent,
  createMemoryDialer,
  createNetDialer,
  createUndiciConnect,
  createWsConnection,
  spkiPin,
  withHooks,
  type Dialer,
} from '@spoke/transport-core';
import { createCertificateAuthority } from '@spoke/transport-core/pki';

const ca = createCertificateAuthority({ commonName: 'adapters test CA' });
const leaf = ca.issue({ commonName: 'kubelet', altNames: ['localhost', '127.0.0.1'] });
const otherCa = createCertificateAuthority({ commonName: 'someone else' });

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.end(`hello ${req.url}`);
}

function get(url: string, options: https.RequestOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    mod
      .get(url, options, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** A WebSocket message as text (ws hands frames over as one Buffer unless binaryType says otherwise). */
function text(data: WebSocket.RawData): string {
  return (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString();
}

/** Counts dials so each test proves traffic went through the dialer. */
function counted(inner: Dialer): Dialer & { dials: string[] } {
  const dials: string[] = [];
  return Object.assign(withHooks({ onDialStart: (e) => dials.push(e.target) })(inner), { dials });
}

describe('adapters over the net dialer', () => {
  let plain: http.Server;
  let secure: https.Server;
  let wss: WebSocketServer;
  let plainPort = 0;
  let securePort = 0;

  beforeAll(async () => {
    plain = http.createServer(handler);
    secure = https.createServer({ cert: leaf.cert, key: leaf.key }, handler);
    wss = new WebSocketServer({ noServer: true });
    for (const server of [plain, secure]) {
      server.on('upgrade', (req, socket, head) =>
        wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(`echo ${text(m)}`))),
      );
    }
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
    plainPort = (plain.address() as net.AddressInfo).port;
    securePort = (secure.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    wss.close();
    plain.closeAllConnections();
    secure.closeAllConnections();
    await new Promise((r) => plain.close(r));
    await new Promise((r) => secure.close(r));
  });

  it('http.Agent: http.get goes through the dialer', async () => {
    const d = counted(createNetDialer());
    const agent = createHttpAgent(d);
    expect(await get(`http://127.0.0.1:${plainPort}/a`, { agent })).toBe('hello /a');
    expect(d.dials).toEqual([`127.0.0.1:${plainPort}`]);
    agent.destroy();
  });

  it('https.Agent: verifies the server with the given CA', async () => {
    const d = counted(createNetDialer());
    const agent = createHttpsAgent(d);
    expect(await get(`https://localhost:${securePort}/b`, { agent, ca: ca.cert })).toBe('hello /b');
    expect(d.dials).toEqual([`localhost:${securePort}`]);
    agent.destroy();
  });

  it('https.Agent: an unknown CA fails with ERR_CERT_UNTRUSTED naming the certificate', async () => {
    const agent = createHttpsAgent(createNetDialer());
    const err = await get(`https://localhost:${securePort}/`, { agent, ca: otherCa.cert }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_CERT_UNTRUSTED');
    expect((err as SpokeError).message).toContain('CN=kubelet');
    expect((err as SpokeError).message).toContain(spkiPin(leaf.x509));
    agent.destroy();
  });

  it('https.Agent: a name the certificate does not cover fails with ERR_CERT_HOSTNAME', async () => {
    const agent = createHttpsAgent(createNetDialer());
    const err = await get(`https://127.0.0.1:${securePort}/`, { agent, ca: ca.cert, servername: 'other.example' }).catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_CERT_HOSTNAME');
    expect((err as SpokeError).message).toMatch(/servername/);
    agent.destroy();
  });

  it('undici: requests go through the dialer, TLS verified with the given CA', async () => {
    const d = counted(createNetDialer());
    const dispatcher = new UndiciAgent({ connect: createUndiciConnect(d, { ca: ca.cert }) });
    const r1 = await undiciRequest(`http://127.0.0.1:${plainPort}/u`, { dispatcher });
    expect(await r1.body.text()).toBe('hello /u');
    const r2 = await undiciRequest(`https://localhost:${securePort}/v`, { dispatcher });
    expect(await r2.body.text()).toBe('hello /v');
    expect(d.dials).toEqual([`127.0.0.1:${plainPort}`, `localhost:${securePort}`]);
    await dispatcher.close();
  });

  it('undici: an untrusted server fails with ERR_CERT_UNTRUSTED', async () => {
    const dispatcher = new UndiciAgent({ connect: createUndiciConnect(createNetDialer()) });
    const err = await undiciRequest(`https://localhost:${securePort}/`, { dispatcher }).catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_CERT_UNTRUSTED');
    await dispatcher.close();
  });

  it.each(['ws', 'wss'])('ws: a %s client connects through the dialer', async (scheme) => {
    const d = counted(createNetDialer());
    const port = scheme === 'ws' ? plainPort : securePort;
    const ws = new WebSocket(`${scheme}://localhost:${port}/sock`, { createConnection: createWsConnection(d), ca: ca.cert });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send('ping');
    const reply = await new Promise<WebSocket.RawData>((r) => ws.once('message', (data) => r(data)));
    expect(text(reply)).toBe('echo ping');
    expect(d.dials).toEqual([`localhost:${port}`]);
    ws.close();
    await new Promise((r) => ws.once('close', r));
  });
});

describe('adapters over the memory dialer (no sockets at all)', () => {
  it('serves http.get from an in-process server', async () => {
    const mem = createMemoryDialer();
    const server = http.createServer(handler);
    mem.listen('api.memory:80', (stream) => server.emit('connection', stream));
    const agent = createHttpAgent(mem, { keepAlive: true });
    expect(await get('http://api.memory/x', { agent })).toBe('hello /x');
    expect(await get('http://api.memory/y', { agent })).toBe('hello /y');
    agent.destroy();
    server.closeAllConnections();
  });
});
