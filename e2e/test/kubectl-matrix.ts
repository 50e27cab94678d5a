import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { waitForOutput } from '@spoke/transport-core/testing';
import { PODS, type KubeCluster, type NodeInNamespace } from '../kube/index.js';

/** What every path's tests run against. */
export interface PathUnderTest {
  cluster: KubeCluster;
  node: NodeInNamespace;
  nodeName: string;
  /** The egress dialer labels kube-apiserver reports for this path; none for Direct. */
  egress?: { protocol: string; transport: string };
}

const SPDY_EXEC = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };
const SPDY_PORT_FORWARD = { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' };
const TRANSPORTS = [
  ['WebSocket', {}, {}],
  ['SPDY', SPDY_EXEC, SPDY_PORT_FORWARD],
] as const;

/**
 * The kubectl commands every egress path must carry, each a test of its own.
 * `get` is called inside each test, after the path's beforeAll has run.
 */
export function kubectlMatrix(get: () => PathUnderTest): void {
  it('kubectl get nodes lists the node', async () => {
    const { cluster, nodeName } = get();
    const r = await cluster.kubectl(['get', 'nodes', '-o', 'name']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`node/${nodeName}`);
  });

  it('kubectl logs reads the container log through the path', async () => {
    const { cluster } = get();
    const r = await cluster.kubectl(['logs', 'web']);
    expect(r.code).toBe(0);
    // Lines appended by earlier `logs -f` tests on the same node may follow.
    expect(r.stdout).toMatch(/^namespace line 1\nnamespace line 2\n/);
  });

  it('kubectl logs -f follows lines appended while it runs', async () => {
    const { cluster, node } = get();
    const follow = cluster.spawnKubectl(['logs', '-f', 'web']);
    try {
      await waitForOutput(follow, /namespace line 2/, 'kubectl logs -f');
      const line = `appended ${randomBytes(4).toString('hex')}`;
      appendFileSync(node.webLog, `${line}\n`);
      await waitForOutput(follow, new RegExp(line), 'kubectl logs -f after the append');
    } finally {
      follow.kill('SIGKILL');
    }
  });

  for (const [name, execEnv] of TRANSPORTS) {
    it(`kubectl exec -i over ${name}: stdin in, stdout and stderr out, the exit code back`, async () => {
      const { cluster } = get();
      const r = await cluster.kubectl(
        ['exec', '-i', 'tools', '-c', PODS.tools.container, '--', 'sh', '-c', 'cat; echo to-stderr >&2; exit 7'],
        {
          stdin: 'ping through the tunnel\n',
          env: execEnv,
        },
      );
      expect(r.stdout).toBe('ping through the tunnel\n');
      expect(r.stderr).toContain('to-stderr');
      expect(r.code).toBe(7);
    });

    it(`kubectl exec over ${name}: a clean exit is exit 0 with nothing on stderr`, async () => {
      const { cluster } = get();
      const r = await cluster.kubectl(['exec', 'tools', '-c', PODS.tools.container, '--', 'echo', 'done'], { env: execEnv });
      expect(r).toEqual({ code: 0, stdout: 'done\n', stderr: '' });
    });

    it(`kubectl attach over ${name} reaches the running process`, async () => {
      const { cluster } = get();
      const attach = cluster.spawnKubectl(['attach', '-i', 'tools', '-c', PODS.tools.container], execEnv);
      try {
        const word = `attached-${randomBytes(4).toString('hex')}`;
        // The container runs `cat`: what goes in comes back once the streams are up.
        const echoed = waitForOutput(attach, new RegExp(word), 'kubectl attach');
        const writeUntilEchoed = setInterval(() => attach.stdin?.write(`${word}\n`), 250);
        try {
          await echoed;
        } finally {
          clearInterval(writeUntilEchoed);
        }
      } finally {
        attach.kill('SIGKILL');
      }
    });
  }

  for (const [name, , forwardEnv] of TRANSPORTS) {
    it(`kubectl port-forward over ${name}: bytes both ways, then a clean stop`, async () => {
      const { cluster } = get();
      const pf = cluster.spawnKubectl(['port-forward', 'pod/web', `:${PODS.web.port}`], forwardEnv);
      let stderr = '';
      pf.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      try {
        const line = await waitForOutput(pf, /Forwarding from 127\.0\.0\.1:\d+/, 'kubectl port-forward');
        const port = Number(/:(\d+)$/.exec(line)?.[1]);
        for (let i = 0; i < 2; i++) {
          const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(20_000) });
          expect(await res.text()).toBe(PODS.web.body);
        }
        const exited = new Promise<number | null>((resolve) => pf.once('exit', (code) => resolve(code)));
        pf.kill('SIGINT');
        expect(await exited).toBe(0);
        expect(stderr).not.toMatch(/error|lost connection/i);
      } finally {
        pf.kill('SIGKILL');
      }
    });
  }

  it('kubectl cp copies a file in and back out (tar over exec)', async () => {
    const { cluster } = get();
    const content = randomBytes(200_000).toString('base64');
    const local = join(cluster.dir, 'cp-source.txt');
    writeFileSync(local, content);
    // The stand-in container shares the machine's filesystem: the "container path" is a host path.
    const remote = join(cluster.dir, `cp-remote-${randomBytes(3).toString('hex')}.txt`);
    const up = await cluster.kubectl(['cp', local, `default/tools:${remote}`, '-c', PODS.tools.container]);
    expect(up).toMatchObject({ code: 0 });
    const back = join(cluster.dir, 'cp-back.txt');
    const down = await cluster.kubectl(['cp', `default/tools:${remote}`, back, '-c', PODS.tools.container]);
    expect(down).toMatchObject({ code: 0 });
    expect(readFileSync(back, 'utf8')).toBe(content);
  });

  it('kubectl get --raw reaches the kubelet through the node proxy', async () => {
    const { cluster, nodeName } = get();
    const health = await cluster.kubectl(['get', '--raw', `/api/v1/nodes/${nodeName}/proxy/healthz`]);
    expect(health).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ok\n?$/) as unknown });
    const pods = await cluster.kubectl(['get', '--raw', `/api/v1/nodes/${nodeName}/proxy/pods`]);
    expect(pods.code).toBe(0);
    expect(JSON.parse(pods.stdout)).toMatchObject({ kind: 'PodList' });
  });

  it("kube-apiserver's own egress metrics count the dials of this path", async () => {
    const { cluster, egress } = get();
    const metrics = await cluster.metrics();
    if (!egress) {
      expect(metrics).not.toMatch(/^apiserver_egress_dialer_dial_duration_seconds_count\{/m);
      return;
    }
    const labels = `protocol="${egress.protocol}",transport="${egress.transport}"`;
    const count = new RegExp(`^apiserver_egress_dialer_dial_duration_seconds_count\\{[^}]*${labels}[^}]*\\} (\\d+)`, 'm').exec(metrics);
    expect(count, `no apiserver_egress_dialer_dial_duration_seconds_count{${labels}} in /metrics`).not.toBeNull();
    expect(Number(count?.[1])).toBeGreaterThan(0);
    expect(metrics).not.toMatch(new RegExp(`^apiserver_egress_dialer_dial_failure_count\\{[^}]*${labels}[^}]*\\} [1-9]`, 'm'));
  });
}
