import { waitFor } from '@spoke/transport-core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type NodeUnderTest, type PortForwardResult } from './kubelet-client.js';

// client-go v0.34.4's portforward over spdy.RoundTripperFor (and over its
// SPDY-in-WebSocket tunnel), straight at the node's /portForward endpoint.
describe('port-forward with client-go', () => {
  let t: NodeUnderTest;
  let port: number;

  beforeAll(async () => {
    t = await startNode({
      pods: [{ name: 'web', containers: [{ name: 'web', http: { body: 'hello from web\n' } }] }],
      streamCreationTimeoutMs: 400,
    });
    port = t.node.runtime.get('default', 'web')?.containers.get('web')?.ports[0]?.containerPort ?? 0;
  });
  afterAll(async () => {
    await t.close();
  });

  const idle = (): Promise<void> => waitFor(() => t.node.stats().portForwards === 0, 'port-forward connections to close');

  for (const transport of ['spdy', 'websocket']) {
    it(`${transport}: connections close cleanly when the pod closes them, with nothing on the error stream`, async () => {
      const r = await t.client<PortForwardResult>('portforward', '/portForward/default/web', [
        '-transport',
        transport,
        '-port',
        String(port),
        '-requests',
        '3',
      ]);
      // Each exchange read to EOF: client-go closes the local connection only after the error stream ended.
      expect(r.responses).toHaveLength(3);
      for (const response of r.responses ?? []) {
        expect(response).toMatch(/^HTTP\/1\.1 200 OK/);
        expect(response).toContain('hello from web\n');
      }
      expect(r.handled).toEqual([]);
      expect(r.forwardError).toBeUndefined();
      await idle();
    });
  }

  it('a port the pod does not declare: the reason arrives on the error stream', async () => {
    const r = await t.client<PortForwardResult>('portforward', '/portForward/default/web', ['-port', '1']);
    expect(r.handled.join('\n')).toContain('an error occurred forwarding');
    expect(r.handled.join('\n')).toContain('port 1 is not declared by pod default/web');
    // Regression: the pair's streams used to be written before their SYN_REPLY, which client-go drops.
    expect(r.ms?.[0]).toBeLessThan(5_000);
    await idle();
  });

  it('half a stream pair: the error stream reports the missing data stream once the timeout passes', async () => {
    const r = await t.client<{ protocol: string; message: string; ms: number }>('partial', '/portForward/default/web', [
      '-protocol',
      'portforward.k8s.io',
      '-headers',
      `streamType=error,port=${port},requestID=0`,
    ]);
    expect(r.protocol).toBe('portforward.k8s.io');
    expect(r.message).toBe('timed out waiting for the data stream of request 0');
    expect(r.ms).toBeGreaterThanOrEqual(300);
    expect(r.ms).toBeLessThan(5_000);
    await idle();
  });
});
