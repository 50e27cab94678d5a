import { createCertificateAuthority } from '@spoke/transport-core';
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
    const proxy = await startConnectProxy({ tls: { cert: serving.cert, key: serving.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true } });
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

