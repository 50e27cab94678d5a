import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type Sshd } from '@spoke/dialer-ssh/testing';
import { main } from '../ssh-https.js';
import { runExample } from './support/run-example.js';
import { startApiServer, type ApiServer } from './support/servers.js';

describe('examples/ssh-https (real OpenSSH sshd)', () => {
  let sshd: Sshd;
  let api: ApiServer;
  let dir: string;
  let caFile: string;
  let emptyKnownHosts: string;

  beforeAll(async () => {
    [sshd, api, dir] = await Promise.all([startSshd(), startApiServer(), mkdtemp(join(tmpdir(), 'spoke-example-'))]);
    caFile = join(dir, 'ca.pem');
    emptyKnownHosts = join(dir, 'known_hosts');
    await Promise.all([writeFile(caFile, api.ca), writeFile(emptyKnownHosts, '')]);
  });
  afterAll(async () => {
    await Promise.all([sshd?.cleanup(), api?.close(), dir && rm(dir, { recursive: true, force: true })]);
  });

  const login = (knownHostsFile: string) => [
    '--ssh',
    `${sshd.username}@${sshd.host}:${sshd.port}`,
    '--key',
    sshd.clientKeyFile,
    '--known-hosts',
    knownHostsFile,
  ];

  it('gets the page through the SSH server, then the process exits by itself', async () => {
    const run = await runExample('ssh-https.ts', [...login(sshd.knownHostsFile), '--ca', caFile, `${api.url}/healthz`]);
    expect(run).toMatchObject({ code: 0, signal: null, stdout: '200 ok\n' });
    expect(api.requests.at(-1)).toBe('GET /healthz -');
  });

  it('refuses an SSH server whose host key is not known, and still exits', async () => {
    const run = await runExample('ssh-https.ts', [...login(emptyKnownHosts), '--ca', caFile, `${api.url}/healthz`]);
    expect(run.signal).toBeNull();
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^ERR_HOST_KEY_UNKNOWN: /);
  });

  it('reports a refused target by its code and releases the SSH connection', async () => {
    const lines: string[] = [];
    const code = await main({
      ssh: {
        host: sshd.host,
        port: sshd.port,
        username: sshd.username,
        privateKeyFile: sshd.clientKeyFile,
        knownHostsFile: sshd.knownHostsFile,
      },
      url: 'https://127.0.0.1:1/healthz',
      ca: api.ca,
      signal: AbortSignal.timeout(30_000),
      log: (line) => lines.push(line),
    });
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ERR_DIAL_REFUSED: /);
    expect(sshd.sessions()).toBe(0);
  });
});
