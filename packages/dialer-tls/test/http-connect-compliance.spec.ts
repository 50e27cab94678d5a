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
