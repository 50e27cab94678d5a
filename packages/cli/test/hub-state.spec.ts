import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliProcess } from './support/cli-process.js';
import { freeRegisteredPort } from './support/ports.js';
import { startTcpServer, type Served } from './support/servers.js';

// Issue 18 §2 through the real processes: `spoke hub --state-dir` keeps the hub's certificate and tokens
// across restarts, `spoke hub init` and `spoke hub token` manage them, agents come back to a restarted hub.

describe('spoke hub --state-dir: a hub that keeps its identity (issue 18 §2; real processes)', () => {
  let dir: string;
  let echo: Served;
  const procs: CliProcess[] = [];

  const start = (args: string[]): CliProcess => {
    const p = startCli(args, { cwd: dir });
    procs.push(p);
    return p;
  };
  const run = (args: string[], input?: string) => runCli(args, { cwd: dir, ...(input !== undefined ? { input } : {}) });
  const mode = (path: string): number => statSync(join(dir, path)).mode & 0o777;

  /** Starts `spoke hub --state-dir state` on `port`; resolves with the process and the fingerprint it prints. */
  async function startHub(port: number, state = 'state'): Promise<{ hub: CliProcess; fingerprint: string }> {
    const hub = start(['hub', '--state-dir', state, '--listen', `127.0.0.1:${port}`]);
    const [, fingerprint = ''] = await hub.line(/^spoke hub listening: \S+ fingerprint=(sha256:[0-9a-f]{64}) state-dir=/m);
    return { hub, fingerprint };
  }

  /** `spoke agent` for agent `id` pinning `fingerprint`, allowed to reach the echo server. */
  const agentArgs = (port: number, fingerprint: string, id: string, tokenFile: string): string[] => [
    'agent',
    '--hub',
    `wss://127.0.0.1:${port}`,
    '--id',
    id,
    '--token-file',
    tokenFile,
    '--hub-fingerprint',
    fingerprint,
    '--allow',
    `127.0.0.1/32:${echo.port}`,
  ];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-cli-hub-state-'));
    echo = await startTcpServer((s) => s.on('error', () => s.destroy()).pipe(s));
  });
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop()));
    await echo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hub init creates the state once (0700/0600), prints the fingerprint and ready lines, and no token without --show-tokens', async () => {
    const first = await run(['hub', 'init', '--state-dir', 'state', '--listen', '127.0.0.1:8443']);
    expect(first.code).toBe(0);
    const fingerprint = /^fingerprint: +(sha256:[0-9a-f]{64})$/m.exec(first.stdout)?.[1];
    expect(fingerprint).toBeDefined();
    expect(first.stdout).toContain('hub:          wss://127.0.0.1:8443');
    expect(first.stdout).toContain(
      `spoke agent --hub wss://127.0.0.1:8443 --id node-1 --token-file node-1.token --hub-fingerprint ${fingerprint}`,
    );
    expect(first.stdout).toContain(`--via 'spoke+wss://127.0.0.1:8443/?token-file=client.token&fingerprint=${fingerprint}'`);
    expect(mode('state')).toBe(0o700);
    for (const file of ['tls.crt', 'tls.key', 'agent-tokens', 'client-tokens']) expect(mode(join('state', file))).toBe(0o600);
    const tokens = ['agent-tokens', 'client-tokens'].map((f) => readFileSync(join(dir, 'state', f), 'utf8').trim());
    for (const token of tokens) expect(first.stdout).not.toContain(token);

    // Again: nothing changes, and --show-tokens shows them.
    const key = readFileSync(join(dir, 'state', 'tls.key'), 'utf8');
    const again = await run(['hub', 'init', '--state-dir', 'state', '--show-tokens']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('unchanged');
    expect(again.stdout).toContain(`fingerprint:  ${fingerprint}`);
    expect(readFileSync(join(dir, 'state', 'tls.key'), 'utf8')).toBe(key);
    for (const token of tokens) expect(again.stdout).toContain(token);
  });

  it('token create/list/revoke: a token bound to an agent id, shown once, listed by hash prefix only', async () => {
    await run(['hub', 'init', '--state-dir', 'state']);
    const created = await run(['hub', 'token', 'create', '--state-dir', 'state', '--agent', 'node-1', '--out', 'node-1.token']);
    expect(created.code).toBe(0);
    const token = readFileSync(join(dir, 'node-1.token'), 'utf8').trim();
    expect(mode('node-1.token')).toBe(0o600);
    expect(created.stdout).not.toContain(token);
    expect(readFileSync(join(dir, 'state', 'agent-tokens'), 'utf8')).toContain(`node-1 ${token}\n`);
    const printed = await run(['hub', 'token', 'create', '--state-dir', 'state', '--client']);
    const clientToken = printed.stdout.trim();
    expect(readFileSync(join(dir, 'state', 'client-tokens'), 'utf8')).toContain(`${clientToken}\n`);

    const list = await run(['hub', 'token', 'list', '--state-dir', 'state']);
    expect(list.stdout).toMatch(/^agent +\(any id\) +sha256:[0-9a-f]{12}$/m);
    expect(list.stdout).toMatch(/^agent +node-1 +sha256:[0-9a-f]{12}$/m);
    expect(list.stdout.match(/^client /gm)).toHaveLength(2);
    expect(list.stdout).not.toContain(token);
    expect(list.stdout).not.toContain(clientToken);

    const prefix = /^client +- +sha256:([0-9a-f]{12})$/m.exec(list.stdout)?.[1] ?? '';
    expect(await run(['hub', 'token', 'revoke', '--state-dir', 'state', '--token-prefix', prefix])).toMatchObject({ code: 0 });
    expect(await run(['hub', 'token', 'revoke', '--state-dir', 'state', '--agent', 'node-1'])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^revoked agent node-1 sha256:/) as unknown,
    });
    const after = await run(['hub', 'token', 'list', '--state-dir', 'state']);
    expect(after.stdout).not.toMatch(/node-1/);
    expect(after.stdout.match(/^client /gm)).toHaveLength(1);
    expect(mode(join('state', 'agent-tokens'))).toBe(0o600);
    expect(await run(['hub', 'token', 'revoke', '--state-dir', 'state', '--agent', 'node-1'])).toMatchObject({ code: 1 });
  });

  it('a restarted hub with the same state dir keeps its fingerprint and tokens: the agent reconnects and dials work', async () => {
    const port = await freeRegisteredPort();
    await run(['hub', 'init', '--state-dir', 'state']);
    await run(['hub', 'token', 'create', '--state-dir', 'state', '--agent', 'node-1', '--out', 'node-1.token']);
    await run(['hub', 'token', 'create', '--state-dir', 'state', '--client', '--out', 'client.token']);
    const first = await startHub(port);
    const { fingerprint } = first;
    let hub = first.hub;
    const agent = start(agentArgs(port, fingerprint, 'node-1', 'node-1.token'));
    await hub.stderrMatch(/agent connected.*agent=node-1.*bound to node-1/);
    const via = `spoke+wss://127.0.0.1:${port}/?token-file=client.token&fingerprint=${fingerprint}`;
    expect(await run(['dial', echo.address, '--via', via], 'before')).toMatchObject({ code: 0, stdout: 'before' });

    expect((await hub.stop()).code).toBe(0);
    const from = agent.stderr.length;
    const restarted = await startHub(port);
    hub = restarted.hub;
    expect(restarted.fingerprint).toBe(fingerprint);
    await hub.stderrMatch(/agent connected.*agent=node-1/);
    await agent.stderrMatch(/connected to hub/, from);
    expect(await run(['dial', echo.address, '--via', via], 'after restart')).toMatchObject({ code: 0, stdout: 'after restart' });
    expect(agent.stderr.slice(from)).not.toMatch(/ERR_INTERNAL|likely a bug|ERR_CERT_PIN|ERR_AUTH_FAILED/);
  });

  it('a running hub follows its token files: a token created now lets an agent in, a revoked one no longer does', async () => {
    const port = await freeRegisteredPort();
    const { hub, fingerprint } = await startHub(port);
    let from = hub.stderr.length;
    await run(['hub', 'token', 'create', '--state-dir', 'state', '--agent', 'node-2', '--out', 'node-2.token']);
    await hub.stderrMatch(/reloaded agent tokens/, from);
    const first = start(agentArgs(port, fingerprint, 'node-2', 'node-2.token'));
    await hub.stderrMatch(/agent connected.*agent=node-2.*bound to node-2/);
    await first.stop();

    from = hub.stderr.length;
    expect((await run(['hub', 'token', 'revoke', '--state-dir', 'state', '--agent', 'node-2'])).code).toBe(0);
    await hub.stderrMatch(/reloaded agent tokens/, from);
    const revoked = start(agentArgs(port, fingerprint, 'node-2', 'node-2.token'));
    await revoked.stderrMatch(/cannot reach hub.*ERR_AUTH_FAILED/);

    // A file that no longer reads keeps the tokens in force, and says so.
    from = hub.stderr.length;
    writeFileSync(join(dir, 'state', 'agent-tokens'), 'node-1 token extra\n', { mode: 0o600 });
    await hub.stderrMatch(/agent token file not reloaded; the previous tokens stay in force.*line 1 is neither/, from);
    expect(hub.stderr).not.toContain('token extra');
  });

  it('a hub back with another certificate: the agent logs ERR_CERT_PIN naming the pinned and the presented fingerprints', async () => {
    const port = await freeRegisteredPort();
    const first = await startHub(port, 'state-a');
    const agentToken = readFileSync(join(dir, 'state-a', 'agent-tokens'), 'utf8').trim();
    await run(['hub', 'init', '--state-dir', 'state-b']);
    // The same agent token in the other state, so only the certificate differs.
    writeFileSync(join(dir, 'state-b', 'agent-tokens'), `${agentToken}\n`, { mode: 0o600 });
    const agent = start(agentArgs(port, first.fingerprint, 'node-1', join(dir, 'state-a', 'agent-tokens')));
    await first.hub.stderrMatch(/agent connected.*agent=node-1/);
    await first.hub.stop();
    const from = agent.stderr.length;
    const other = await startHub(port, 'state-b');
    expect(other.fingerprint).not.toBe(first.fingerprint);
    const [line = ''] = await agent.stderrMatch(/cannot reach hub.*code=ERR_CERT_PIN.*/, from);
    expect(line).toContain(`pinned fingerprint ${first.fingerprint}`);
    expect(line).toContain(`fingerprint ${other.fingerprint}`);
    expect(line).not.toMatch(/likely a bug/);
  });
});
