import { readFileSync, readdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EgressConfigError, loadEgressSelectorConfiguration, parseEgressSelectorConfiguration } from '../src/index.js';

// Every fixture states what it expects in its first lines:
//   valid/*.yaml    # selections: name:Protocol ...
//   invalid/*.yaml  # field: path[|path...]   # message: fragment
const root = join(import.meta.dirname, 'fixtures', 'egress');
const header = (file: string, key: string): string => {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`# ${key}:`));
  if (line === undefined) throw new Error(`${file} has no "# ${key}:" line`);
  return line.slice(`# ${key}:`.length).trim();
};

describe('EgressSelectorConfiguration fixtures', () => {
  const valid = readdirSync(join(root, 'valid')).sort();
  const invalid = readdirSync(join(root, 'invalid')).sort();

  it('has fixtures for every valid shape and every validation error', () => {
    expect(valid.length).toBeGreaterThanOrEqual(13);
    expect(invalid.length).toBeGreaterThanOrEqual(38);
  });

  it.each(valid)('loads valid/%s', (name) => {
    const file = join(root, 'valid', name);
    const config = loadEgressSelectorConfiguration(file, { baseDir: root });
    const want = header(file, 'selections');
    expect(config.egressSelections.map((s) => `${s.name}:${s.connection.proxyProtocol}`).join(' ')).toBe(want);
    expect(config.kind).toBe('EgressSelectorConfiguration');
    for (const s of config.egressSelections) {
      const tls = s.connection.transport?.tcp?.tlsConfig;
      for (const path of [tls?.caBundle, tls?.clientCert, tls?.clientKey]) if (path !== undefined) expect(isAbsolute(path)).toBe(true);
    }
  });

  it.each(invalid)('rejects invalid/%s at the offending field', (name) => {
    const file = join(root, 'invalid', name);
    let err: unknown;
    try {
      loadEgressSelectorConfiguration(file, { baseDir: root });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EgressConfigError);
    const e = err as EgressConfigError;
    expect(e.code).toBe('ERR_BAD_CONFIG');
    expect(e.message).toContain(file);
    expect(e.message).toContain(header(file, 'message'));
    for (const field of header(file, 'field').split('|').filter(Boolean)) {
      expect(e.message).toMatch(new RegExp(`(^|[ "])${field.replace(/[.[\]]/g, '\\$&')}("|: )`));
      expect(e.issues.some((i) => i.field === field || i.message.includes(`"${field}"`))).toBe(true);
    }
  });

  it('keeps upstream details: master becomes controlplane, names are lower-cased, the tcp next to GRPC uds is kept', () => {
    const master = loadEgressSelectorConfiguration(join(root, 'valid', 'master-alias.yaml'));
    expect(master.egressSelections[0]?.name).toBe('controlplane');
    const grpc = loadEgressSelectorConfiguration(join(root, 'valid', 'grpc-tcp-next-to-uds.yaml'), { baseDir: root });
    expect(grpc.egressSelections[0]?.connection.transport?.uds?.udsName).toBe(
      '/etc/kubernetes/konnectivity-server/konnectivity-server.socket',
    );
    const mtls = loadEgressSelectorConfiguration(join(root, 'valid', 'httpconnect-tcp-mtls.yaml'), { baseDir: root });
    expect(mtls.egressSelections[0]?.connection.transport?.tcp).toEqual({
      url: 'https://konnectivity.example:8131',
      tlsConfig: {
        caBundle: join(root, 'pki', 'ca.crt'),
        clientCert: join(root, 'pki', 'client.crt'),
        clientKey: join(root, 'pki', 'client.key'),
        tlsServerName: 'konnectivity-server',
      },
    });
  });

  it('resolves relative tlsConfig paths against the working directory by default, as kube-apiserver does', () => {
    const text = readFileSync(join(root, 'valid', 'httpconnect-tcp-mtls.yaml'), 'utf8');
    expect(() => parseEgressSelectorConfiguration(text, { baseDir: '/' })).toThrow(/TLS client cert does not exist/);
    expect(parseEgressSelectorConfiguration(text, { baseDir: root }).egressSelections).toHaveLength(1);
  });

  it('accepts YAML text instead of a path, and reports an unreadable file', () => {
    const text = 'apiVersion: apiserver.k8s.io/v1beta1\nkind: EgressSelectorConfiguration\negressSelections: []\n';
    expect(loadEgressSelectorConfiguration(text).egressSelections).toEqual([]);
    expect(() => loadEgressSelectorConfiguration('/nonexistent/egress.yaml')).toThrow(/cannot read the file \(ENOENT\)/);
  });
});
