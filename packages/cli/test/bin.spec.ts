import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli-process.js';
import { startTcpServer, type Served } from './support/servers.js';

// The published binary runs the compiled dist/ (the test target depends on this package's build).
const BIN = [process.execPath, join(import.meta.dirname, '..', 'bin', 'spoke.js')];

describe('bin/spoke.js (built)', () => {
  let echo: Served;
  beforeAll(async () => {
    echo = await startTcpServer((s) => s.pipe(s));
  });
  afterAll(async () => {
    await echo?.close();
  });

  it('prints its version', async () => {
    const result = await runCli(['--version'], { entry: BIN });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^spoke \d+\.\d+\.\d+\n$/);
  });

  it('dials', async () => {
    const result = await runCli(['dial', echo.address], { entry: BIN, input: 'built' });
    expect(result).toMatchObject({ code: 0, stdout: 'built' });
  });
});
