import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoThrough, startHubRig, type HubRig } from './support/hub-rig.js';
import { AGENT_TOKEN, konnectivityEcho, startKonnectivityRig, type KonnectivityRig } from './support/konnectivity-rig.js';
import { rawWebSocket } from './support/raw-ws.js';

// Credential and role confusion through the real processes (issue 17 #4, #5), beyond what
// ../hub-identity.spec.ts covers for certificates and bound tokens: each role's bearer token on the
// other role's hub path, and on the Konnectivity server each port's credential on the other port and
// each port's service on the other port. The bound: refused (401, gRPC UNAUTHENTICATED or
// UNIMPLEMENTED), nothing registered, legitimate traffic unaffected.

describe('adversarial: role confusion, spoke hub tokens', () => {
  let rig: HubRig;
  beforeAll(async () => {
    rig = await startHubRig();
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it('a client token does not register an agent, an agent token does not dial (401 on the upgrade)', async () => {
    await expect(rawWebSocket(rig.address, '/v1/agent', rig.clientToken)).rejects.toThrow(/upgrade refused: HTTP\/1\.1 401/);
    await expect(rawWebSocket(rig.address, '/v1/client', rig.agentToken)).rejects.toThrow(/upgrade refused: HTTP\/1\.1 401/);
    await expect(rawWebSocket(rig.address, '/v1/agent', 'no-such-token')).rejects.toThrow(/upgrade refused: HTTP\/1\.1 401/);
    expect(rig.hub.stderr).not.toMatch(/token-|rig-agent/);
    expect(await echoThrough(rig, 'roles kept')).toMatchObject({ code: 0, stdout: 'roles kept' });
  });
});

/** One gRPC call's answer: the grpc-status of its headers or trailers (undefined: the call is open, i.e. served). */
async function grpcCall(
  port: number,
  creds: { ca: string; cert?: string; key?: string },
  path: string,
  headers: http2.OutgoingHttpHeaders = {},
): Promise<string | undefined> {
  const session = http2.connect(`https://127.0.0.1:${port}`, creds);
  session.on('error', () => {});
  try {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    stream.on('error', () => {});
    const h = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      stream.once('response', resolve);
      stream.once('close', () => reject(new Error(`${path} on port ${port}: closed without headers`)));
    });
    return h['grpc-status'] as string | undefined;
  } finally {
    session.destroy();
  }
}

describe('adversarial: role confusion, spoke konnectivity server ports', () => {
  let rig: KonnectivityRig;
  beforeAll(async () => {
    rig = await startKonnectivityRig();
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it('a front-end client certificate is no agent credential; the agent port serves no ProxyService', async () => {
    const client = { ca: rig.pem.ca, cert: rig.pem.clientCert, key: rig.pem.clientKey };
    expect(await grpcCall(rig.agentPort, client, '/AgentService/Connect', { agentid: 'front-end-as-agent' })).toBe('16');
    const proxyOnAgentPort = await grpcCall(rig.agentPort, { ca: rig.pem.ca }, '/ProxyService/Proxy', {
      authorization: `Bearer ${AGENT_TOKEN}`,
    });
    expect(proxyOnAgentPort).toBe('12');
    expect(rig.server.stderr).not.toMatch(/agent front-end-as-agent connected/);
  });

  it('the front end needs its client certificate, and serves no AgentService even with an agent token', async () => {
    await expect(grpcCall(rig.frontPort, { ca: rig.pem.ca }, '/ProxyService/Proxy')).rejects.toThrow(/closed without headers/);
    const agentOnFront = await grpcCall(
      rig.frontPort,
      { ca: rig.pem.ca, cert: rig.pem.clientCert, key: rig.pem.clientKey },
      '/AgentService/Connect',
      { agentid: 'agent-on-front-end', authorization: `Bearer ${AGENT_TOKEN}` },
    );
    expect(agentOnFront).toBe('12');
    expect(rig.server.stderr).not.toMatch(/agent agent-on-front-end connected/);
    expect(await konnectivityEcho(rig, 'roles kept')).toMatchObject({ code: 0, stdout: 'roles kept' });
  });
});
