import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_BIN } from './cli.js';

// systemd-analyze verify checks each unit as systemd would load it, the executable included: the units name
// /usr/bin/spoke (where `npm install -g` puts it on Debian), so the copies checked here name the built CLI instead.
const UNITS = ['spoke-hub.service', 'spoke-agent.service'];
const unitDir = join(import.meta.dirname, '..', 'systemd');
const scratch = mkdtempSync(join(tmpdir(), 'spoke-deploy-units-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function copy(unit: string, extra = ''): string {
  const text = readFileSync(join(unitDir, unit), 'utf8');
  expect(text).toContain('ExecStart=/usr/bin/spoke ');
  const file = join(scratch, unit);
  writeFileSync(file, text.replace('ExecStart=/usr/bin/spoke ', `ExecStart=${CLI_BIN} `) + extra);
  return file;
}

function analyze(args: readonly string[]): { status: number | null; out: string } {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8', timeout: 30_000, cwd: scratch });
  if (r.error) throw r.error;
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** `Key=value` lines of the [Service] section. */
function serviceSettings(unit: string): Map<string, string[]> {
  const section = /\[Service\]\n([\s\S]*?)(?:\n\[|$)/.exec(readFileSync(join(unitDir, unit), 'utf8'))?.[1] ?? '';
  const settings = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) settings.set(m[1] as string, [...(settings.get(m[1] as string) ?? []), m[2] as string]);
  }
  return settings;
}

describe('systemd units', () => {
  for (const unit of UNITS) {
    it(`${unit}: systemd-analyze verify reports nothing`, () => {
      const r = analyze(['verify', copy(unit)]);
      expect(r.out).toBe('');
      expect(r.status).toBe(0);
    });

    it(`${unit}: hardened (systemd-analyze security: exposure 2.0 or less)`, () => {
      const r = analyze(['security', '--offline=true', '--no-pager', '--threshold=20', copy(unit)]);
      const exposure = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(r.out)?.[1]);
      expect(exposure).toBeLessThanOrEqual(2);
      expect(r.status).toBe(0);
      const s = serviceSettings(unit);
      for (const [key, value] of [
        ['DynamicUser', 'yes'],
        ['NoNewPrivileges', 'yes'],
        ['ProtectSystem', 'strict'],
        ['ProtectHome', 'yes'],
        ['PrivateTmp', 'yes'],
        ['CapabilityBoundingSet', ''],
        ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX'],
        ['SystemCallFilter', '@system-service'],
      ])
        expect(s.get(key as string), `${unit} ${key}`).toEqual([value]);
      expect(s.get('EnvironmentFile')?.[0]).toMatch(/^-\/etc\/spoke\/\w+\.env$/);
    });
  }

  it('the hub keeps its identity in its StateDirectory (--state-dir ${STATE_DIRECTORY}, mode 0700)', () => {
    const s = serviceSettings('spoke-hub.service');
    expect(s.get('StateDirectory')).toEqual(['spoke-hub']);
    expect(s.get('StateDirectoryMode')).toEqual(['0700']);
    expect(s.get('ExecStart')?.[0]).toContain('hub --state-dir ${STATE_DIRECTORY} ');
  });

  it('the agent reads its token as a systemd credential', () => {
    const s = serviceSettings('spoke-agent.service');
    expect(s.get('LoadCredential')).toEqual(['agent.token:/etc/spoke/agent.token']);
    expect(s.get('ExecStart')?.[0]).toContain('--token-file ${CREDENTIALS_DIRECTORY}/agent.token');
  });

  it('the check works: verify names an unknown directive', () => {
    const r = analyze(['verify', copy('spoke-hub.service', '\n[Service]\nNoSuchDirective=1\n')]);
    expect(r.out).toContain("Unknown key 'NoSuchDirective'");
  });
});
