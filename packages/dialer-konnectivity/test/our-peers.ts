import { createKonnectivityAgent, createKonnectivityServer, type KonnectivityAgent, type KonnectivityServer } from '../src/index.js';
import type { TestPki } from './upstream/harness.js';

/** Our proxy-server on loopback (agent and health ports 0) serving `uds`, with the test PKI. */
export async function ourServer(
  pki: TestPki,
  mode: 'grpc' | 'http-connect',
  uds: string,
  extra: Partial<Parameters<typeof createKonnectivityServer>[0]> = {},
): Promise<KonnectivityServer> {
  return createKonnectivityServer({
    mode,
    udsName: uds,
    agentPort: 0,
    agentBindAddress: '127.0.0.1',
    healthPort: 0,
    healthBindAddress: '127.0.0.1',
    clusterCert: pki.serverCertPem,
    clusterKey: pki.serverKeyPem,
    clusterCaCert: pki.caPem,
    serverId: 'spoke-server-1',
    ...extra,
  });
}

/** Our proxy-server with its front end on TCP with mTLS in `mode` (and the agent port), all on loopback, port 0. */
export function ourTcpServer(
  pki: TestPki,
  mode: 'grpc' | 'http-connect',
  extra: Partial<Parameters<typeof createKonnectivityServer>[0]> = {},
): Promise<KonnectivityServer> {
  return createKonnectivityServer({
    mode,
    serverPort: 0,
    serverBindAddress: '127.0.0.1',
    serverCert: pki.serverCertPem,
    serverKey: pki.serverKeyPem,
    serverCaCert: pki.caPem,
    agentPort: 0,
    agentBindAddress: '127.0.0.1',
    healthPort: false,
    clusterCert: pki.serverCertPem,
    clusterKey: pki.serverKeyPem,
    clusterCaCert: pki.caPem,
    ...extra,
  });
}

/** Our proxy-agent connecting to `port` on 127.0.0.1 with the test PKI's client certificate. */
export function ourAgent(pki: TestPki, port: number, extra: Parameters<typeof createKonnectivityAgent>[0] = {}): KonnectivityAgent {
  return createKonnectivityAgent({
    proxyServerPort: port,
    caCert: pki.caPem,
    agentCert: pki.clientCertPem,
    agentKey: pki.clientKeyPem,
    agentId: 'spoke-agent',
    ...extra,
  });
}
