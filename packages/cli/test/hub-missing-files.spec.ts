import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliProcess } from './support/cli-process.js';
import { freeRegisteredPort } from './support/ports.js';

// Issue 18 §2: a missing certificate or token file is ERR_BAD_OPTION naming the file, for the hub, the agent
// and spoke+wss:// token-file= — never ERR_INTERNAL "likely a bug" nor ERR_DIAL_REFUSED "No socket exists".

describe('missing hub, agent and client files are ERR_BAD_OPTION naming the file (issue 18 §2; real processes)', () => {
  let dir: string;
  const procs: CliProcess[] = [];
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-cli-missing-files-'));
  });
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['--agent-token-file', ['--agent-token-file', 'MISSING']],
    ['--client-token-file', ['--client-token-file', 'MISSING']],
    ['--tls-cert', ['--tls-cert', 'MISSING', '--tls-key', 'KEY']],
    ['--tls-key', ['--tls-cert', 'CERT', '--tls-key', 'MISSING']],
  ])('spoke hub %s naming a missing file: exit 2, ERR_BAD_OPTION and the path', async (_flag, args) => {
    const missing = join(dir, 'nowhere', 'file.pem');
    const key = file('key.pem', 'x');
    const cert = file('cert.pem', 'x');
    const argv = args.map((a) => (a === 'MISSING' ? missing : a === 'KEY' ? key : a === 'CERT' ? cert : a));
    const result = await runCli(['hub', '--listen', '127.0.0.1:0', ...argv]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`ERR_BAD_OPTION: --[a-z-]+ ${missing}: cannot read .*ENOENT`));
  });

  it('spoke agent --token-file naming a missing file: exit 2, ERR_BAD_OPTION and the path', async () => {
    const missing = join(dir, 'agent.token');
    const result = await runCli(['agent', '--hub', 'wss://127.0.0.1:9', '--id', 'n1', '--token-file', missing, '--allow', '127.0.0.1/32']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`ERR_BAD_OPTION: --token-file ${missing}: cannot read`);
  });

  it('an agent whose token file disappears logs ERR_BAD_OPTION naming it on its next connect, not ERR_INTERNAL', async () => {
    // What a hub restart did to agents given the hub's generated token file: the hub deleted it on exit.
    const port = await freeRegisteredPort();
    const token = file('agent.token', 'some-token\n');
    const agent = startCli(['agent', '--hub', `wss://127.0.0.1:${port}`, '--id', 'n1', '--token-file', token, '--allow', '127.0.0.1/32']);
    procs.push(agent);
    await agent.stderrMatch(/cannot reach hub.*code=ERR_DIAL_REFUSED/);
    unlinkSync(token);
    const from = agent.stderr.length;
    // The next attempt that is not a refused connection: the token read.
    const [line = ''] = await agent.stderrMatch(/cannot reach hub.*code=(?!ERR_DIAL_REFUSED)\S+.*/, from);
    expect(line).toContain('code=ERR_BAD_OPTION');
    expect(line).toContain(`--token-file ${token}: cannot read`);
    expect(agent.stderr).not.toMatch(/ERR_INTERNAL|likely a bug/);
  });

  it("spoke+wss:// token-file= naming a missing file: exit 2, ERR_BAD_OPTION naming it (it read as ERR_DIAL_REFUSED 'No socket exists')", async () => {
    const missing = join(dir, 'client.token');
    const port = await freeRegisteredPort();
    const result = await runCli(
      ['dial', '127.0.0.1:9', '--via', `spoke+wss://127.0.0.1:${port}/?token-file=${missing}&fingerprint=sha256:00`],
      {
        input: '',
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`ERR_BAD_OPTION: Cannot read token-file=${missing}`);
    expect(result.stderr).not.toMatch(/ERR_DIAL_REFUSED|No socket exists/);
  });

  it('--state-dir: a file in its place, or a key without its certificate, is ERR_BAD_OPTION naming them', async () => {
    const notDir = file('state', 'x');
    const asFile = await runCli(['hub', '--listen', '127.0.0.1:0', '--state-dir', notDir]);
    expect(asFile.code).toBe(2);
    expect(asFile.stderr).toContain(`ERR_BAD_OPTION: --state-dir ${notDir}: ${notDir} exists and is not a directory`);

    const state = join(dir, 'state-2');
    expect((await runCli(['hub', 'init', '--state-dir', state])).code).toBe(0);
    unlinkSync(join(state, 'tls.crt'));
    const halfPair = await runCli(['hub', '--listen', '127.0.0.1:0', '--state-dir', state]);
    expect(halfPair.code).toBe(2);
    expect(halfPair.stderr).toContain(`${join(state, 'tls.key')} is there but ${join(state, 'tls.crt')} is missing`);
  });
});
