import { readFileSync } from 'node:fs';
import { runCli, startCli, type CliProcess } from '../../support/cli-process.js';
import { startTcpServer, type Served } from '../../support/servers.js';

/** A `spoke hub` with one `spoke agent` (node-1, allowed to reach an echo server): the victim and its legitimate traffic. */
export interface HubRig {
  hub: CliProcess;
  agent: CliProcess;
  /** The hub's WSS address, host:port. */
  address: string;
  agentToken: string;
  clientToken: string;
  /** A `spoke+wss://` URI a legitimate client dials through. */
  via: string;
  echo: Served;
  stop(): Promise<void>;
}

/** Starts the rig; `hubArgs` are added to `spoke hub --listen 127.0.0.1:0`. */
export async function startHubRig(hubArgs: readonly string[] = []): Promise<HubRig> {
  const echo = await startTcpServer((s) => s.pipe(s));
  const hub = startCli(['hub', '--listen', '127.0.0.1:0', ...hubArgs]);
  const [line = ''] = await hub.line(/^spoke hub listening: .+$/m);
  const field = (name: string): string => new RegExp(`${name}=(\\S+)`).exec(line)?.[1] ?? '';
  const address = /wss:\/\/(\S+)/.exec(line)?.[1] ?? '';
  const fingerprint = field('fingerprint');
  const agentTokenFile = field('agent-token-file');
  const clientTokenFile = field('client-token-file');
  const agent = startCli([
    'agent',
    '--hub',
    `wss://${address}`,
    '--id',
    'node-1',
    '--token-file',
    agentTokenFile,
    '--hub-fingerprint',
    fingerprint,
    '--allow',
    `127.0.0.1/32:${echo.port}`,
  ]);
  await hub.stderrMatch(/agent connected.*agent=node-1/);
  return {
    hub,
    agent,
    address,
    agentToken: readFileSync(agentTokenFile, 'utf8').trim(),
    clientToken: readFileSync(clientTokenFile, 'utf8').trim(),
    via: `spoke+wss://${address}/?token-file=${clientTokenFile}&fingerprint=${fingerprint}`,
    echo,
    async stop() {
      await agent.stop();
      await hub.stop();
      await echo.close();
    },
  };
}

/** Sends `text` through `spoke dial --via via` to the echo server; resolves with what came back and the exit code. */
export async function echoThrough(rig: HubRig, text: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await runCli(['dial', rig.echo.address, '--via', rig.via, '--connect-timeout', '10s'], { input: text });
  return { code, stdout, stderr };
}
