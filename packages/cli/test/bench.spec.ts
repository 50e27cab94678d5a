import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli-process.js';
import { startConnectProxy } from './support/servers.js';

describe('spoke bench', () => {
  it('measures an echo round trip through a hop and checks the data', async () => {
    const proxy = await startConnectProxy();
    try {
      const result = await runCli(['bench', '--via', `http-connect://${proxy.address}`, '--streams', '3', '--bytes', '2MiB', '--json']);
      expect(result.code).toBe(0);
      const summary = JSON.parse(result.stdout) as {
        streams: number;
        bytesPerStream: number;
        intact: boolean;
        mibPerSecondEachWay: number;
      };
      expect(summary).toMatchObject({ streams: 3, bytesPerStream: 2 * 1024 * 1024, intact: true });
      expect(summary.mibPerSecondEachWay).toBeGreaterThan(0);
      expect(proxy.connects).toHaveLength(3);
    } finally {
      await proxy.close();
    }
  });

  it('rejects a bad size', async () => {
    expect((await runCli(['bench', '--bytes', 'lots'])).code).toBe(2);
  });
});
