import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');

describe('npm run demo -- --once', () => {
  it('runs every path on loopback, prints the table and exits 0', async () => {
    const child = spawn(process.execPath, [join(root, 'scripts', 'demo.mjs'), '--once'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(err).not.toMatch(/demo failed/);
    expect(code).toBe(0);
    expect(out).toMatch(/direct TLS \(CA verified, mTLS\)\s+GET \/healthz\s+✔ 200 ok/);
    expect(out).toMatch(/ERR_CERT_UNTRUSTED \(as expected\)/);
    expect(out).toMatch(/spoke\+wss client → hub → agent\s+GET 64 MiB\s+✔ 200 64 MiB/);
    expect(out).toMatch(/ERR_DIAL_DENIED \(as expected\)/);
    expect(out).not.toMatch(/✘/);
  }, 120_000);
});
