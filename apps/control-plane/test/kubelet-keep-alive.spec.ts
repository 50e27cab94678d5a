import { once } from 'node:events';
import type { Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { createNode } from '@spoke/app-node';
import { createNetDialer } from '@spoke/transport-core';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { NodeAccess, kubeletGet } from '../src/node-access.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// Regression (`npm run demo`, then `kubectl get nodes` after a minute idle: three nodes NotReady with
// "Unexpected error dialling … aborted", EPIPE or a reset stream). Kubelet requests go over a TLS
// dialer's half-open-capable stream through a keep-alive agent; when the kubelet closed an idle
// connection (Node's 5 s keepAliveTimeout) the agent kept it and the next request went into it.
it('a kubelet connection closed while idle is not reused for the next request', async () => {
  const ca = createCertificateAuthority({ commonName: 'cluster ca' });
  const serving = ca.issue({ commonName: 'node-a', altNames: ['127.0.0.1'] });
  const client = ca.issue({ commonName: 'control-plane', usages: ['client'] });
  const node = await createNode(
    { name: 'node-a', tls: { cert: serving.cert, key: serving.key, clientCa: ca.cert }, pods: [] },
    { signal: AbortSignal.timeout(10_000) },
  );
  cleanups.push(() => node.close());
  const access = new NodeAccess(createNetDialer(), { ca: ca.cert, cert: client.cert, key: client.key }, 10_000);
  cleanups.push(() => access.close());

  expect(await kubeletGet(access, '127.0.0.1', node.port, '/healthz', AbortSignal.timeout(10_000))).toEqual({ status: 200, body: 'ok\n' });
  const pooled = Object.values(access.agent(access.kubelet).freeSockets).flat()[0];
  expect(pooled).toBeDefined();
  // The kubelet ends the idle connection after its keep-alive timeout (an event, bounded by the test timeout).
  await once(pooled as Socket, 'end');
  expect(await kubeletGet(access, '127.0.0.1', node.port, '/healthz', AbortSignal.timeout(10_000))).toEqual({ status: 200, body: 'ok\n' });
});
