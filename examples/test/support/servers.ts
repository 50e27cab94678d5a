import { once } from 'node:events';
import https from 'node:https';
import type net from 'node:net';
import { createCertificateAuthority } from '@spoke/transport-core/pki';

/** An API-server-shaped HTTPS server on 127.0.0.1 port 0, with the CA that signed its certificate. */
export interface ApiServer {
  /** `https://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** PEM of the CA that issued the server certificate (for 127.0.0.1 and localhost). */
  ca: string;
  /** `METHOD path authorization` of every request, in order. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

const NAMESPACES = {
  kind: 'NamespaceList',
  apiVersion: 'v1',
  metadata: { resourceVersion: '1' },
  items: ['default', 'kube-system'].map((name) => ({ metadata: { name }, status: { phase: 'Active' } })),
};

/**
 * Answers like a kube-apiserver for what the examples ask: `/healthz` is `ok`,
 * `/version` a version, `/api/v1/namespaces` a NamespaceList, anything else a 404 Status object.
 */
export async function startApiServer(): Promise<ApiServer> {
  const ca = createCertificateAuthority({ commonName: 'examples CA' });
  const leaf = ca.issue({ commonName: 'apiserver', altNames: ['127.0.0.1', 'localhost'], usages: ['server'] });
  const requests: string[] = [];
  const server = https.createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    if (path === '/healthz') {
      res.setHeader('content-type', 'text/plain');
      res.end('ok');
      return;
    }
    res.setHeader('content-type', 'application/json');
    if (path === '/version') {
      res.end(JSON.stringify({ major: '1', minor: '31', gitVersion: 'v1.31.0' }));
      return;
    }
    if (path === '/api/v1/namespaces') {
      res.end(JSON.stringify(NAMESPACES));
      return;
    }
    res.statusCode = 404;
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
  });
  // A client that refuses our certificate hangs up mid-handshake: expected in the error-path tests.
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    ca: ca.cert,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
