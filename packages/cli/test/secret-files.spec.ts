import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from './support/cli-process.js';

/** Token and key files with the permissions OpenSSH would complain about (issue 17 #12). */
describe('secret files: group/other-readable ones warn, group/other-writable ones are refused', () => {
  let dir: string;
  /** A file holding `content` with exactly `mode` (chmod, so the umask plays no part). */
  const secret = (name: string, mode: number, content = 'token-1\n'): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    chmodSync(path, mode);
    return path;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-secret-files-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['world-writable', 0o666],
    ['group-writable', 0o620],
  ])('spoke hub refuses a %s --agent-token-file (exit 2, ERR_BAD_OPTION naming the file)', async (_what, mode) => {
    const agents = secret(`agents-${mode.toString(8)}.token`, mode);
    const clients = secret(`clients-${mode.toString(8)}.token`, 0o600);
    const result = await runCli(['hub', '--listen', '127.0.0.1:0', '--agent-token-file', agents, '--client-token-file', clients]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ERR_BAD_OPTION');
    expect(result.stderr).toContain(agents);
    expect(result.stderr).toContain(`chmod 600 ${agents}`);
    expect(result.stdout).not.toMatch(/listening/);
  });

  it('spoke hub starts with a group/other-readable token file but warns on stderr naming it and the chmod 600 fix; a 0600 file is not named', async () => {
    const agents = secret('agents-readable.token', 0o644);
    const clients = secret('clients-private.token', 0o600);
    const hub = startCli(['hub', '--listen', '127.0.0.1:0', '--agent-token-file', agents, '--client-token-file', clients]);
    try {
      await hub.line(/^spoke hub listening: .+$/m);
      expect(hub.stderr).toContain(`--agent-token-file ${agents} (mode 0644) is readable by group or others; run chmod 600 ${agents}`);
      expect(hub.stderr).not.toContain(clients);
    } finally {
      await hub.stop();
    }
  });

  it('spoke hub warns about a readable --tls-key and refuses a world-writable one', async () => {
    const cert = secret('hub.crt', 0o644, 'not read: the key is checked first\n');
    const readable = secret('hub-readable.key', 0o640, 'not a key\n');
    const writable = secret('hub-writable.key', 0o602, 'not a key\n');
    const warned = await runCli(['hub', '--listen', '127.0.0.1:0', '--tls-cert', cert, '--tls-key', readable]);
    expect(warned.stderr).toContain(`--tls-key ${readable} (mode 0640) is readable by group or others; run chmod 600 ${readable}`);
    expect(warned.stderr).not.toContain(`--tls-cert ${cert}`);
    const refused = await runCli(['hub', '--listen', '127.0.0.1:0', '--tls-cert', cert, '--tls-key', writable]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('ERR_BAD_OPTION');
    expect(refused.stderr).toContain(`chmod 600 ${writable}`);
  });

  it('spoke agent refuses a group-writable --token-file before connecting anywhere', async () => {
    const token = secret('agent.token', 0o660);
    const result = await runCli(['agent', '--hub', 'wss://127.0.0.1:9/', '--id', 'node-1', '--token-file', token]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ERR_BAD_OPTION');
    expect(result.stderr).toContain(token);
  });

  it('spoke konnectivity server refuses a world-writable --agent-token-file=F; the agent warns about a readable --service-account-token-path F', async () => {
    const tokens = secret('konnectivity-agents.token', 0o666);
    const refused = await runCli([
      'konnectivity',
      'server',
      `--agent-token-file=${tokens}`,
      '--cluster-cert=cert.pem',
      '--cluster-key=key.pem',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('ERR_BAD_OPTION');
    expect(refused.stderr).toContain(`--agent-token-file ${tokens} (mode 0666) is writable by group or others`);
    const token = secret('service-account.token', 0o644);
    const agent = startCli([
      'konnectivity',
      'agent',
      '--proxy-server-port=9',
      '--health-server-port=0',
      '--service-account-token-path',
      token,
    ]);
    try {
      await agent.stderrMatch(/--service-account-token-path \S+ \(mode 0644\) is readable by group or others; run chmod 600/);
      expect(agent.stderr).toContain(`chmod 600 ${token}`);
    } finally {
      await agent.stop();
    }
  });

  it('a dialer URI secret (ssh identity=) is refused when world-writable and warned about when readable', async () => {
    const writable = secret('id-writable', 0o646, 'not a key\n');
    const refused = await runCli(['dial', '127.0.0.1:9', '--via', `ssh://u@127.0.0.1:9?identity=${writable}`]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('ERR_BAD_OPTION');
    expect(refused.stderr).toContain(`identity= ${writable}`);
    const readable = secret('id-readable', 0o604, 'not a key\n');
    const warned = await runCli(['dial', '127.0.0.1:9', '--via', `ssh://u@127.0.0.1:9?identity=${readable}`]);
    expect(warned.stderr).toContain(`identity= ${readable} (mode 0604) is readable by group or others; run chmod 600 ${readable}`);
  });
});
