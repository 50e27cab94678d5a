import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { describeDialer } from '@spoke/transport-core/testing';
import { createHttpConnectDialer } from '../src/index.js';
import { startConnectProxy } from './support/connect-proxy.js';

const MiB = 1024 * 1024;

describeDialer(
  'http-connect (through a real CONNECT proxy on 127.0.0.1)',
  async () => {
    const proxy = await startConnectProxy();
    return {
      dialer: createHttpConnectDialer({ proxy: proxy.address }),
      teardown: () => proxy.close(),
    };
  },
  { bulkBytes: 16 * MiB },
);

describeDialer(
  'http-connect over mTLS to an https proxy',
  async () => {
    const ca = createCertificateAuthority({ commonName: 'proxy CA' });
    const serving = ca.issue({ commonName: 'proxy', altNames: ['127.0.0.1'], usages: ['server'] });
    const client = ca.issue({ commonName: 'client', usages: ['client'] });
    const proxy = await startConnectProxy({
      tls: { cert: serving.cert, key: serving.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true },
    });
    return {
      dialer: createHttpConnectDialer({ proxy: proxy.address, tls: { ca: ca.cert, cert: client.cert, key: client.key } }),
      teardown: () => proxy.close(),
      // Our destroy() of a TLS stream closes its TCP connection with a FIN: TLS owns the handle and
      // Node cannot send a RST under it, so this proxy sees a clean end and passes on an end.
      capabilities: { resetReachesServer: false },
    };
  },
  { bulkBytes: 16 * MiB },
);

describeDialer(
  'http-connect through the spoke hub CONNECT front end (hub → WSS agent → target)',
  async () => {
    const { createAgent, createHub } = await import('@spoke/hub');
    const hub = await createHub({ agentTokens: ['agent-token'], clientTokens: ['client-token'], connect: { host: '127.0.0.1', port: 0 } });
    const agent = createAgent({
      hub: hub.url,
      id: 'node-1',
      allow: ['127.0.0.1/32'],
      token: 'agent-token',
      tls: { fingerprint: hub.fingerprint as string },
    });
    await agent.waitConnected(1, { signal: AbortSignal.timeout(10_000) });
    return {
      dialer: createHttpConnectDialer({ proxy: hub.connectAddress as string, headers: { 'Proxy-Authorization': 'Bearer client-token' } }),
      teardown: () => {
        agent.destroy();
        hub.destroy();
      },
    };
  },
  { bulkBytes: 16 * MiB },
);
