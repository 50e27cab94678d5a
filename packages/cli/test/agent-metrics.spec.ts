import { afterEach, describe, expect, it } from 'vitest';
import { startCli, type CliProcess } from './support/cli-process.js';

/** GET on the agent's --metrics address. */
async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

describe('spoke agent --metrics: probes and scraping for the agent', () => {
  const processes: CliProcess[] = [];
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop()));
  });

  it('/readyz is 503 until a hub session is up and 200 once it is; /healthz always 200; /metrics counts hubs', async () => {
    const hub = startCli(['hub', '--listen', '127.0.0.1:0']);
    processes.push(hub);
    const [line = ''] = await hub.line(/^spoke hub listening: .+$/m);
    const hubUrl = /(wss:\/\/\S+)/.exec(line)?.[1] ?? '';
    const fingerprint = /fingerprint=(\S+)/.exec(line)?.[1] ?? '';
    const tokenFile = /agent-token-file=(\S+)/.exec(line)?.[1] ?? '';

    // First an agent whose hub does not answer: alive, not ready.
    const lonely = startCli(['agent', '--hub', 'wss://127.0.0.1:1', '--id', 'n0', '--allow', '127.0.0.1/32:1', '--metrics', '127.0.0.1:0']);
    processes.push(lonely);
    const [lonelyLine = ''] = await lonely.line(/metrics=\S+/);
    const lonelyBase = (/metrics=(\S+)\/metrics/.exec(lonelyLine)?.[1] ?? '').trim();
    expect(await get(`${lonelyBase}/healthz`)).toMatchObject({ status: 200 });
    expect(await get(`${lonelyBase}/readyz`)).toMatchObject({ status: 503, body: expect.stringContaining('no hub session') as unknown });
    expect((await get(`${lonelyBase}/metrics`)).body).toMatch(/^spoke_agent_hubs_connected 0$/m);

    const agent = startCli([
      'agent',
      '--hub',
      hubUrl,
      '--id',
      'n1',
      '--allow',
      '127.0.0.1/32:1',
      '--token-file',
      tokenFile,
      '--hub-fingerprint',
      fingerprint,
      '--metrics',
      '127.0.0.1:0',
    ]);
    processes.push(agent);
    const [agentLine = ''] = await agent.line(/metrics=\S+/);
    const base = (/metrics=(\S+)\/metrics/.exec(agentLine)?.[1] ?? '').trim();
    await agent.stderrMatch(/connected/i);
    expect(await get(`${base}/readyz`)).toMatchObject({ status: 200 });
    expect((await get(`${base}/metrics`)).body).toMatch(/^spoke_agent_hubs_connected 1$/m);
  });
});
