import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { spokeScheme } from '@spoke/hub';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tokenFile(mode: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'spoke-token-'));
  dirs.push(dir);
  const file = join(dir, 'client.token');
  writeFileSync(file, 'client-secret\n');
  chmodSync(file, mode);
  return file;
}

// Issue 17 #12 for spoke+wss:// URIs: the token file is a secret like a key.
it('spoke+wss:// refuses a token-file others may write, warns when others may read it, and is quiet at 0600', async () => {
  const uri = (file: string): URL => new URL(`spoke+wss://127.0.0.1:8443/?token-file=${encodeURIComponent(file)}&fingerprint=sha256:00`);
  const warnings: string[] = [];
  const context = { warn: (m: string) => warnings.push(m) };

  expect(() => spokeScheme.create(uri(tokenFile(0o666)), context)).toThrowError(
    expect.objectContaining({ code: 'ERR_BAD_OPTION' }) as Error,
  );

  await spokeScheme.create(uri(tokenFile(0o644)), context).close();
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/readable by group or others; run chmod 600/);
  expect(warnings[0]).not.toContain('client-secret');

  await spokeScheme.create(uri(tokenFile(0o600)), context).close();
  expect(warnings).toHaveLength(1);
});
