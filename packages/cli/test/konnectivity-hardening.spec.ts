import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from './support/cli-process.js';
import { freeRegisteredPort } from './support/ports.js';

describe('spoke konnectivity server: agent authentication is required (issue 17 #6)', () => {
  let dir: string;
  let base: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-cli-konn-hard-'));
    const ca = createCertificateAuthority({ commonName: 'konnectivity test CA' });
    const cluster = ca.issue({ commonName: 'konnectivity-server', altNames: ['127.0.0.1'], usages: ['server'] });
    writeFileSync(join(dir, 'cluster.crt'), cluster.cert);
    writeFileSync(join(dir, 'cluster.key'), cluster.key);
    writeFileSync(join(dir, 'empty-tokens'), '\n\n');
    base = [
      'konnectivity',
      'server',
      `--uds-name=${join(dir, 'k.sock')}`,
      '--server-port=0',
      '--agent-bind-address=127.0.0.1',
      `--agent-port=${await freeRegisteredPort()}`,
      `--health-port=${await freeRegisteredPort()}`,
      '--health-bind-address=127.0.0.1',
      `--cluster-cert=${join(dir, 'cluster.crt')}`,
      `--cluster-key=${join(dir, 'cluster.key')}`,
    ];
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to start without --agent-token-file, --cluster-ca-cert or TokenReview (usage error)', async () => {
    const plain = await runCli(base);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/ERR_BAD_OPTION: .*accept any agent.*--insecure-accept-any-agent/);
    // A token file with no token in it is no authentication either.
    const empty = await runCli([...base, `--agent-token-file=${join(dir, 'empty-tokens')}`]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/holds no token/);
  });

  it('starts with --insecure-accept-any-agent, warning on stderr that anyone can register as an agent', async () => {
    const server = startCli([...base, '--insecure-accept-any-agent']);
    try {
      await server.line(/^spoke konnectivity server listening: .+$/m);
      expect(server.stderr).toMatch(/--insecure-accept-any-agent.*anyone who can reach it can register as an agent/);
    } finally {
      await server.stop();
    }
  });
});
