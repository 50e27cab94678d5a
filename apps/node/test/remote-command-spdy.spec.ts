import { waitFor } from '@spoke/transport-core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execPath, startNode, type ExecResult, type NodeUnderTest } from './kubelet-client.js';

// client-go v0.34.4's SPDY executor (what kube-apiserver uses toward kubelets,
// also behind its WebSocket-to-SPDY translator) and its WebSocket executor,
// talking straight to the node's kubelet endpoints.
describe('exec and attach with client-go (SPDY/3.1 and WebSocket)', () => {
  let t: NodeUnderTest;

  beforeAll(async () => {
    t = await startNode({
      pods: [
        { name: 'tools', containers: [{ name: 'shell', command: ['/bin/sh', '-c', 'echo started; exec cat'], stdin: true }] },
        { name: 'files', containers: [{ name: 'data' }] },
        {
          name: 'term',
          containers: [
            { name: 'tty', command: ['/bin/sh', '-c', 'while read x; do echo "size $(stty size)"; done'], stdin: true, tty: true },
          ],
        },
      ],
      streamCreationTimeoutMs: 400,
    });
  });
  afterAll(async () => {
    await t.close();
  });

  const exec = (path: string, args: string[]): Promise<ExecResult> => t.client<ExecResult>('exec', path, args);
  const idle = (): Promise<void> => waitFor(() => t.node.stats().remoteCommands === 0, 'exec/attach sessions to close');

  for (const protocol of ['v5.channel.k8s.io', 'v4.channel.k8s.io']) {
    it(`${protocol}: stdin is echoed back, then exit code 0`, async () => {
      const r = await exec(execPath('tools', 'shell', ['cat'], { stdin: true }), ['-protocols', protocol, '-stdin', 'hello over spdy\n']);
      expect(r).toMatchObject({ stdout: 'hello over spdy\n', exitCode: 0 });
      expect(r.error).toBeUndefined();
      await idle();
    });

    it(`${protocol}: a non-zero exit reaches the client as an ExitError with that code`, async () => {
      const r = await exec(execPath('tools', 'shell', ['sh', '-c', 'echo partial; exit 7'], {}), ['-protocols', protocol]);
      expect(r.stdout).toBe('partial\n');
      expect(r.exitCode).toBe(7);
      expect(r.error).toBe('command terminated with exit code 7');
      await idle();
    });
  }

  it('client-go default offer (v5 first): stdout and stderr on their own streams', async () => {
    const r = await exec(execPath('tools', 'shell', ['sh', '-c', 'echo out; echo err >&2'], { stderr: true }), ['-stderr']);
    expect(r).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exitCode: 0 });
  });

  it('v2 (no resize stream): stdin echoed, success is an empty error stream', async () => {
    const r = await exec(execPath('tools', 'shell', ['cat'], { stdin: true }), ['-protocols', 'v2.channel.k8s.io', '-stdin', 'v2 in\n']);
    expect(r).toMatchObject({ stdout: 'v2 in\n', exitCode: 0 });
    expect(r.error).toBeUndefined();
  });

  it('v3 reports a failure as text (no exit codes before v4)', async () => {
    const r = await exec(execPath('tools', 'shell', ['sh', '-c', 'exit 3'], {}), ['-protocols', 'v3.channel.k8s.io']);
    expect(r.exitCode).toBe(-1);
    expect(r.error).toMatch(/^error executing remote command: command terminated with non-zero exit code.*exit code 3$/);
  });

  it('a missing command exits 127 with the reason on stderr', async () => {
    const r = await exec(execPath('tools', 'shell', ['spoke-no-such-command'], { stderr: true }), ['-stderr']);
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toContain('spoke-no-such-command');
  });

  it('tty: the resize on the resize stream reaches the process terminal', async () => {
    const path = execPath('tools', 'shell', ['sh', '-c', 'read x; stty size; echo "got $x"'], { stdin: true, tty: true });
    const r = await exec(path, ['-tty', '-resize', '100x30', '-stdin', 'go\n']);
    const out = r.stdout.replace(/\r/g, '');
    expect(out).toContain('30 100\n');
    expect(out).toContain('got go\n');
    expect(r.exitCode).toBe(0);
  });

  it('attach: input reaches the container process, its output comes back; detaching leaves it running', async () => {
    const r = await exec('/attach/default/tools/shell?input=1&output=1', ['-stdin', 'ping from attach\n', '-until', 'ping from attach']);
    expect(r.detached).toBe(true);
    expect(r.stdout).toContain('ping from attach\n');
    await idle();
    expect(t.node.runtime.get('default', 'tools')?.containers.get('shell')?.exitCode).toBeNull();
  });

  it('attach with a terminal: the resize stream is accepted (nothing to apply it to), input and output flow', async () => {
    const r = await exec('/attach/default/tools/shell?input=1&output=1&tty=1', [
      '-tty',
      '-resize',
      '80x24',
      '-stdin',
      'tty attach\n',
      '-until',
      'tty attach',
    ]);
    expect(r.detached).toBe(true);
    expect(r.stdout).toContain('tty attach');
    await idle();
  });

  it('attach -t to a container started on a terminal: the resize reaches its process', async () => {
    const r = await exec('/attach/default/term/tty?input=1&output=1&tty=1', [
      '-tty',
      '-resize',
      '90x20',
      '-stdin',
      'go\n',
      '-until',
      'size 20 90',
    ]);
    expect(r.detached).toBe(true);
    expect(r.stdout).toContain('size 20 90');
    await idle();
  });

  it('attach to a container without a process: the Failure message reaches the client', async () => {
    const r = await exec('/attach/default/files/data?output=1', []);
    expect(r.exitCode).toBe(-1);
    expect(r.error).toBe('the container has no running process to attach to');
    await idle();
  });

  it('a client that never opens the expected streams gets a Failure status once the timeout passes', async () => {
    const r = await t.client<{ protocol: string; message: string; ms: number }>(
      'partial',
      execPath('tools', 'shell', ['cat'], { stdin: true }),
      ['-protocol', 'v4.channel.k8s.io'],
    );
    expect(r.protocol).toBe('v4.channel.k8s.io');
    const status = JSON.parse(r.message) as { status: string; reason: string; message: string };
    expect(status).toMatchObject({ status: 'Failure', reason: 'Timeout' });
    expect(status.message).toContain('missing stdin, stdout');
    expect(r.ms).toBeGreaterThanOrEqual(300);
    expect(r.ms).toBeLessThan(5_000);
    await idle();
  });

  for (const protocol of ['v5.channel.k8s.io', 'v4.channel.k8s.io']) {
    it(`WebSocket executor (${protocol}) runs through the same exec core`, async () => {
      const path = execPath('tools', 'shell', ['sh', '-c', 'cat; exit 4'], { stdin: true });
      const r = await exec(path, ['-transport', 'websocket', '-protocols', protocol, '-stdin', 'ws in\n']);
      expect(r).toMatchObject({ stdout: 'ws in\n', exitCode: 4 });
      await idle();
    });
  }

  it('WebSocket tty: the resize on channel 4 reaches the process terminal', async () => {
    const path = execPath('tools', 'shell', ['sh', '-c', 'read x; stty size'], { stdin: true, tty: true });
    const r = await exec(path, ['-transport', 'websocket', '-tty', '-resize', '120x40', '-stdin', 'go\n']);
    expect(r.stdout.replace(/\r/g, '')).toContain('40 120\n');
    expect(r.exitCode).toBe(0);
  });

  it('WebSocket executor (v5 default offer) with stdout and stderr apart', async () => {
    const r = await exec(execPath('tools', 'shell', ['sh', '-c', 'echo out; echo err >&2'], { stderr: true }), [
      '-transport',
      'websocket',
      '-stderr',
    ]);
    expect(r).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exitCode: 0 });
    await idle();
  });
});
