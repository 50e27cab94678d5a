import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTarget } from '@spoke/transport-core';
import { closedTcpPort } from '@spoke/transport-core/testing';
import { main } from '../proxy-url.js';
import { SPOKE_FROM_SOURCE } from './support/run-example.js';
import { startApiServer, type ApiServer } from './support/servers.js';

describe('examples/proxy-url (kubectl, spoke proxy --http)', () => {
  let api: ApiServer;
  beforeAll(async () => {
    api = await startApiServer();
  });
  afterAll(async () => {
    await api?.close();
  });

  const run = async (server: string) => {
    const lines: string[] = [];
    const code = await main({
      server,
      ca: api.ca,
      token: 'example-token',
      spoke: SPOKE_FROM_SOURCE,
      signal: AbortSignal.timeout(60_000),
      log: (line) => lines.push(line),
    });
    return { code, lines };
  };

  it('kubectl reaches the API server through the proxy named by proxy-url', async () => {
    const before = api.requests.length;
    const { code, lines } = await run(api.url);
    expect(code).toBe(0);
    expect(lines[0]).toMatch(/^spoke proxy on 127\.0\.0\.1:\d+; kubeconfig \S+ has proxy-url: http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines[1]).toBe('kubectl get --raw /healthz: ok');
    // client-go may open more than one connection (it races dials); what matters is that they all went through the proxy.
    expect(lines[2]).toMatch(/^the proxy relayed [1-9]\d* connection\(s\)$/);
    expect(lines).toHaveLength(3);
    expect(api.requests.slice(before)).toContain('GET /healthz?timeout=20s Bearer example-token');
  });

  it('names the SpokeError code the proxy logged when it cannot reach the server', async () => {
    const closed = formatTarget(await closedTcpPort());
    const { code, lines } = await run(`https://${closed}`);
    expect(code).toBe(1);
    expect(lines.at(-1)).toBe(`ERR_DIAL_REFUSED: the proxy could not reach the API server at ${closed}`);
  });
});
