import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { runCli, startCli, type CliProcess } from './support/cli-process.js';
import { startTcpServer, type Served } from './support/servers.js';

// Issue 17 #4 and #5 through the real processes: `spoke hub --agent-ca/--client-ca` keeps the roles
// apart and binds an agent certificate to its CN; `--agent-token-file` lines `ID TOKEN` bind tokens
// to ids, and an id held by one credential is refused to another instead of being taken over.

describe('spoke hub identities (issue 17 #4, #5; real processes)', () => {
  let dir: string;
  let echo: Served;
  const procs: CliProcess[] = [];
  const hubCa = createCertificateAuthority({ commonName: 'hub serving CA' });

  /** Writes a private file in the test directory; returns its path. */
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const start = (args: string[]): CliProcess => {
    const p = startCli(args);
    procs.push(p);
    return p;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-cli-hub-identity-'));
    echo = await startTcpServer((s) => s.on('error', () => s.destroy()).pipe(s));
  });
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop()));
    await echo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts `spoke hub` with its own serving certificate; resolves with its address and the listening line. */
  async function startHub(extra: string[]): Promise<{ hub: CliProcess; address: string; line: string }> {
    const serving = hubCa.issue({ commonName: 'hub', altNames: ['127.0.0.1', 'localhost'], usages: ['server'] });
    const hub = start([
      'hub',
      '--listen',
      '127.0.0.1:0',
      '--tls-cert',
      file('hub.crt', serving.cert),
      '--tls-key',
      file('hub.key', serving.key),
      ...extra,
    ]);
    const [line = ''] = await hub.line(/^spoke hub listening: .+$/m);
    return { hub, address: /wss:\/\/(\S+)/.exec(line)?.[1] ?? '', line };
  }

  const agentArgs = (address: string, id: string, auth: string[]): string[] => [
    'agent',
    '--hub',
    `wss://${address}`,
    '--id',
    id,
    '--ca',
    file('hub-ca.crt', hubCa.cert),
    '--allow',
    `127.0.0.1/32:${echo.port}`,
    ...auth,
  ];

  /** `--cert F --key F` of a fresh client certificate with `commonName` from `ca`. */
  const certArgs = (ca: ReturnType<typeof createCertificateAuthority>, commonName: string, name: string): string[] => {
    const leaf = ca.issue({ commonName, usages: ['client'] });
    return ['--cert', file(`${name}.crt`, leaf.cert), '--key', file(`${name}.key`, leaf.key)];
  };

  it('--agent-ca and --client-ca keep the roles apart, and an agent certificate announces only its CN', async () => {
    const agentCa = createCertificateAuthority({ commonName: 'agents CA' });
    const clientCa = createCertificateAuthority({ commonName: 'clients CA' });
    const { hub, address, line } = await startHub([
      '--agent-ca',
      file('agents.pem', agentCa.cert),
      '--client-ca',
      file('clients.pem', clientCa.cert),
    ]);
    // Both roles have a CA: no token is generated.
    expect(line).not.toContain('token-file=');
    start(agentArgs(address, 'node-1', certArgs(agentCa, 'node-1', 'node-1')));
    await hub.stderrMatch(/agent connected.*agent=node-1.*CN=node-1/);

    // A client's certificate does not register as an agent.
    const rogue = start(agentArgs(address, 'node-1', certArgs(clientCa, 'node-1', 'client-as-agent')));
    await hub.stderrMatch(/refused agent: a certificate from the client CA/);
    await rogue.stderrMatch(/cannot reach hub.*ERR_AUTH_FAILED/);
    // An agent certificate for node-2 does not announce node-1.
    const other = start(agentArgs(address, 'node-1', certArgs(agentCa, 'node-2', 'node-2')));
    await hub.stderrMatch(/refused agent id.*agent=node-1.*CN=node-2/);
    await other.stderrMatch(/ERR_AUTH_FAILED.*node-1.*node-2/);

    const hubCaFile = file('hub-ca.crt', hubCa.cert);
    const via = (name: string, cn: string, ca: ReturnType<typeof createCertificateAuthority>): string => {
      const leaf = ca.issue({ commonName: cn, usages: ['client'] });
      return `spoke+wss://${address}/?ca=${hubCaFile}&cert=${file(`${name}.crt`, leaf.cert)}&key=${file(`${name}.key`, leaf.key)}`;
    };
    // An agent's certificate does not dial through the hub; a client's does, and node-1 serves it.
    const asClient = await runCli(['dial', `127.0.0.1:${echo.port}`, '--via', via('agent-as-client', 'node-1', agentCa)], { input: 'x' });
    expect(asClient.code).not.toBe(0);
    expect(asClient.stderr).toContain('ERR_AUTH_FAILED');
    await hub.stderrMatch(/refused client: a certificate from the agent CA/);
    const client = await runCli(['dial', `127.0.0.1:${echo.port}`, '--via', via('ops', 'ops', clientCa)], { input: 'through node-1' });
    expect(client).toMatchObject({ code: 0, stdout: 'through node-1' });
    expect(hub.stderr).not.toMatch(/agent disconnected/);
  });

  it("--agent-token-file 'ID TOKEN' lines bind tokens to ids; a held id is refused to another token, never taken over", async () => {
    const tokens = file('agents.tokens', 'node-1 token-of-node-1-aaaaaaaa\nnode-2 token-of-node-2-bbbbbbbb\nshared-token-cccccccc\n');
    const { hub, address } = await startHub(['--agent-token-file', tokens, '--metrics', '127.0.0.1:0']);
    start(agentArgs(address, 'node-1', ['--token-file', file('node-1.token', 'token-of-node-1-aaaaaaaa\n')]));
    await hub.stderrMatch(/agent connected.*agent=node-1.*bound to node-1/);

    const withNode2Token = start(agentArgs(address, 'node-1', ['--token-file', file('node-2.token', 'token-of-node-2-bbbbbbbb\n')]));
    await withNode2Token.stderrMatch(/ERR_AUTH_FAILED.*node-1.*node-2/);
    const withShared = start(agentArgs(address, 'node-1', ['--token-file', file('shared.token', 'shared-token-cccccccc\n')]));
    await withShared.stderrMatch(/cannot reach hub.*ERR_AUTH_FAILED/);
    await hub.stderrMatch(/refused agent id.*agent=node-1.*token #3 \(any id\)/);

    // The shared token still serves ids no line binds.
    start(agentArgs(address, 'node-3', ['--token-file', file('shared.token', 'shared-token-cccccccc\n')]));
    await hub.stderrMatch(/agent connected.*agent=node-3/);
    expect(hub.stderr).not.toMatch(/agent disconnected/);
    expect(hub.stderr).not.toMatch(/token-of-node|shared-token/);
  });

  it('rejects a malformed --agent-token-file line (exit 2)', async () => {
    const result = await runCli(['hub', '--listen', '127.0.0.1:0', '--agent-token-file', file('bad.tokens', 'node-1 token extra\n')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("line 1 is neither 'TOKEN' nor 'ID TOKEN'");
    expect(result.stderr).not.toContain('token extra');
  });
});
