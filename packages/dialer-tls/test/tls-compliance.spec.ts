import { once } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { describeDialer } from '@spoke/transport-core/testing';
import { createTlsDialer } from '../src/index.js';

const MiB = 1024 * 1024;

describeDialer(
  'tls (TLS to a real tls server, CA generated in the test)',
  () => {
    const ca = createCertificateAuthority({ commonName: 'compliance CA' });
    const server = ca.issue({ commonName: 'target', altNames: ['127.0.0.1', 'localhost'] });
    const context = tls.createSecureContext({ cert: server.cert, key: server.key });
    return {
      dialer: createTlsDialer({ ca: ca.cert }),
      // Our destroy() of a TLS stream closes its TCP connection with a FIN: TLS owns the socket's
      // handle, and resetting it from under TLS breaks Node's own teardown. The server sees a clean end.
      capabilities: { resetReachesServer: false },
      async serve(handler: (s: Duplex) => void) {
        const raws = new Set<net.Socket>();
        // A TCP listener that terminates TLS itself, so a handler's "reset" can reset the TCP connection.
        const listener = net.createServer({ allowHalfOpen: true }, (raw) => {
          raws.add(raw);
          raw.once('close', () => raws.delete(raw));
          raw.on('error', () => {});
          const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
          secure.allowHalfOpen = true;
          (secure as tls.TLSSocket & { resetAndDestroy(): tls.TLSSocket }).resetAndDestroy = () => {
            raw.resetAndDestroy();
            return secure.destroy();
          };
          secure.on('error', () => {});
          secure.once('secure', () => handler(secure));
        });
        listener.listen(0, '127.0.0.1');
        await once(listener, 'listening');
        const { port } = listener.address() as net.AddressInfo;
        return {
          target: { host: '127.0.0.1', port },
          close: () =>
            new Promise<void>((resolve) => {
              for (const s of raws) s.destroy();
              listener.close(() => resolve());
            }),
        };
      },
    };
  },
  { bulkBytes: 16 * MiB },
);
