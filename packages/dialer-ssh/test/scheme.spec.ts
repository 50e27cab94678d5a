import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sshScheme } from '@spoke/dialer-ssh';
import { SpokeError, createDialerRegistry, type Dialer } from '@spoke/transport-core';
import { echo, readAll, serveTcp, type ServedTarget } from '@spoke/transport-core/testing';
import { keygen, startSshd, type Sshd } from '../src/testing/sshd.js';

describe('ssh:// dialer URIs', () => {
  let sshd: Sshd;
  let svc: ServedTarget;
  const open: Dialer[] = [];
  const registry = createDialerRegistry([sshScheme]);
  const warnings: string[] = [];
  const chain = (uris: string[]): Dialer => {
    const d = registry.chain(uris, { warn: (m) => warnings.push(m) });
    open.push(d);
    return d;
  };
  // config=none: the tester's own ~/.ssh/config must not change what these URIs mean.
  const hop = (q = '') => `ssh://${sshd.username}@127.0.0.1:${sshd.port}?identity=${sshd.clientKeyFile}&config=none${q}`;

  beforeAll(async () => {
    sshd = await startSshd();
    svc = await serveTcp(echo);
  });
  afterAll(async () => {
    await Promise.all(open.map((d) => d.close()));
    await svc?.close();
    await sshd?.cleanup();
  });

  const roundTrip = async (d: Dialer, text: string): Promise<string> => {
    const s = await d.dial(svc.target, { signal: AbortSignal.timeout(20_000) });
    s.end(text);
    return (await readAll(s)).toString();
  };

  it('dials with known-hosts=FILE', async () => {
    expect(await roundTrip(chain([hop(`&known-hosts=${sshd.knownHostsFile}`)]), 'known')).toBe('known');
  });

  it('dials with a pinned host-key (base64 "+" survives the query string)', async () => {
    expect(await roundTrip(chain([hop(`&host-key=${sshd.fingerprint}`)]), 'pinned')).toBe('pinned');
  });

  it('chains two ssh:// hops', async () => {
    const q = `&known-hosts=${sshd.knownHostsFile}`;
    expect(await roundTrip(chain([hop(q), hop(q)]), 'two hops')).toBe('two hops');
  });

  it('reads passphrase-file and warns for insecure-accept-any-host-key', async () => {
    const locked = await keygen(join(sshd.dir, 'uri-locked'), 'open sesame');
    const auth = join(sshd.dir, 'authorized_keys');
    writeFileSync(auth, readFileSync(auth, 'utf8') + readFileSync(`${locked}.pub`, 'utf8'));
    const pass = join(sshd.dir, 'pass.txt');
    writeFileSync(pass, 'open sesame\n');
    const d = chain([
      `ssh://${sshd.username}@127.0.0.1:${sshd.port}?identity=${locked}&passphrase-file=${pass}&insecure-accept-any-host-key=true&config=none`,
    ]);
    expect(await roundTrip(d, 'insecure')).toBe('insecure');
    expect(warnings.some((w) => /NOT verified/.test(w))).toBe(true);
  });

  it('rejects malformed URIs with ERR_BAD_URI and the accepted form', () => {
    for (const bad of [
      'ssh://',
      'ssh://u:secret@h',
      `ssh://h?identity-file=x`,
      'ssh://h/path',
      'ssh://h?insecure-accept-any-host-key=yes',
      'ssh://h?config=',
    ]) {
      let err: unknown;
      try {
        registry.create(bad, { warn: () => {} });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SpokeError);
      expect((err as SpokeError).code).toBe('ERR_BAD_URI');
      expect((err as SpokeError).message).not.toContain('secret');
    }
  });
});
