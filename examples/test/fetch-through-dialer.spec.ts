import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTarget } from '@spoke/transport-core';
import { closedTcpPort } from '@spoke/transport-core/testing';
import { main } from '../fetch-through-dialer.js';
import { startApiServer, type ApiServer } from './support/servers.js';

describe('examples/fetch-through-dialer', () => {
  let api: ApiServer;
  beforeAll(async () => {
    api = await startApiServer();
  });
  afterAll(async () => {
    await api?.close();
  });

  const run = async (url: string, ca?: string, signal = AbortSignal.timeout(30_000)) => {
    const lines: string[] = [];
    const code = await main({ url, ...(ca === undefined ? {} : { ca }), signal, log: (line) => lines.push(line) });
    return { code, lines };
  };

  it('fetches over verified TLS, every connection dialled by the Dialer', async () => {
    const { code, lines } = await run(`${api.url}/healthz`, api.ca);
    expect(code).toBe(0);
    // undici may reuse the first connection for the second request or open another: one dial line each time.
    const dials = lines.filter((line) => line.startsWith('dialled '));
    expect(dials.length).toBeGreaterThanOrEqual(1);
    for (const line of dials) expect(line).toMatch(new RegExp(`^dialled 127\\.0\\.0\\.1:${api.port} through net in \\d+ ms$`));
    expect(lines.filter((line) => !line.startsWith('dialled '))).toEqual(['fetch: 200 ok', 'request: 200 ok']);
  });

  it('reports an unknown CA as ERR_CERT_UNTRUSTED', async () => {
    const { code, lines } = await run(`${api.url}/healthz`);
    expect(code).toBe(1);
    expect(lines.at(-1)).toMatch(/^ERR_CERT_UNTRUSTED: /);
  });

  it('reports a closed port as ERR_DIAL_REFUSED', async () => {
    const { code, lines } = await run(`https://${formatTarget(await closedTcpPort())}/healthz`, api.ca);
    expect(code).toBe(1);
    expect(lines).toEqual(['ERR_DIAL_REFUSED: could not reach the server (retrying later may help)']);
  });

  it('stops when its signal is aborted', async () => {
    const { code, lines } = await run(`${api.url}/healthz`, api.ca, AbortSignal.abort());
    expect(code).toBe(130);
    expect(lines).toEqual(['aborted']);
  });
});
