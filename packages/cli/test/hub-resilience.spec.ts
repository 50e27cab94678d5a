import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSignedCertificate } from '@spoke/transport-core/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliProcess } from './support/cli-process.js';
import { freeRegisteredPort } from './support/ports.js';
import { startTcpServer, type Served } from './support/servers.js';

describe('hub and agent processes come back after crashes and restarts', () => {
  let dir: string;
  let hubPort: number;
  let hub: CliProcess;
  let agent: CliProcess;
  let echo: Served;
  let firehose: Served;
  let hubArgs: string[];
  let agentArgs: string[];
  let via: string;

  const startHub = async (): Promise<CliProcess> => {
    const proc = startCli(hubArgs);
    await proc.line(/^spoke hub listening: /m);
    return proc;
  };
  const dialThroughHub = (target: string, input: string) => runCli(['dial', target, '--via', via], { input });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-cli-resilience-'));
    // Fixed certificate, tokens and port, so a restarted hub is the same hub to its agents and clients.
    const cert = createSelfSignedCertificate({ commonName: 'hub', altNames: ['127.0.0.1'], usages: ['server'] });
    const files = {
      cert: join(dir, 'hub.crt'),
      key: join(dir, 'hub.key'),
      agents: join(dir, 'agents.token'),
      clients: join(dir, 'clients.token'),
    };
    writeFileSync(files.cert, cert.cert);
    writeFileSync(files.key, cert.key);
    writeFileSync(files.agents, 'agent-token-1\n');
    writeFileSync(files.clients, 'client-token-1\n');
    [echo, firehose] = await Promise.all([
      startTcpServer((s) => s.pipe(s)),
      // Streams until the client goes away, so a transfer is in flight when the agent dies.
      startTcpServer((s) => {
        const chunk = Buffer.alloc(64 * 1024, 1);
        const pump = (): void => {
          while (!s.destroyed && s.write(chunk));
        };
        s.on('drain', pump);
        pump();
      }),
    ]);
    hubPort = await freeRegisteredPort();
    hubArgs = [
      'hub',
      '--listen',
      `127.0.0.1:${hubPort}`,
      '--tls-cert',
      files.cert,
      '--tls-key',
      files.key,
      '--agent-token-file',
      files.agents,
      '--client-token-file',
      files.clients,
    ];
    agentArgs = [
      'agent',
      '--hub',
      `wss://127.0.0.1:${hubPort}`,
      '--id',
      'node-1',
      '--ca',
      files.cert,
      '--token-file',
      files.agents,
      '--allow',
      '127.0.0.1/32',
    ];
    via = `spoke+wss://127.0.0.1:${hubPort}/?token-file=${files.clients}&ca=${files.cert}`;
    hub = await startHub();
    agent = startCli(agentArgs);
    await hub.stderrMatch(/agent connected.*agent=node-1/);
  });

  afterAll(async () => {
    await agent?.stop();
    await hub?.stop();
    await Promise.all([echo?.close(), firehose?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('an agent killed mid-transfer fails the stream with a code; a restarted agent serves new dials', async () => {
    const transfer = startCli(['dial', firehose.address, '--via', via]);
    await new Promise<void>((resolve) => transfer.child.stdout?.once('data', () => resolve()));
    await agent.stop('SIGKILL');
    const failed = await transfer.exited;
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/ERR_(TUNNEL_CLOSED|STREAM_RESET)/);

    const before = hub.stderr.length;
    agent = startCli(agentArgs);
    await hub.stderrMatch(/agent connected.*agent=node-1/, before);
    expect(await dialThroughHub(echo.address, 'after agent restart')).toMatchObject({ code: 0, stdout: 'after agent restart' });
  });

  it('agents reconnect by themselves when the hub restarts', async () => {
    await hub.stop();
    const from = agent.stderr.length;
    hub = await startHub();
    // Both sides see the new session: the hub registers the agent, the agent logs its reconnect.
    await hub.stderrMatch(/agent connected.*agent=node-1/);
    await agent.stderrMatch(/connected to hub/, from);
    expect(await dialThroughHub(echo.address, 'after hub restart')).toMatchObject({ code: 0, stdout: 'after hub restart' });
  });
});
