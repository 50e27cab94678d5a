import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAgentFlags, parseServerFlags } from '@spoke/dialer-konnectivity';
import { afterAll, describe, expect, it } from 'vitest';
import { expandArgs, runCli } from './cli.js';
import { render, workloads, type Container } from './objects.js';

// Every container's args use only flags the CLI accepts: `spoke hub|agent ARGS --help` exits 0 only when every
// flag before --help is known (an unknown one is a usage error, exit 2, even with --help). The Konnectivity
// commands print help before parsing, so their args go through the same parsers the CLI runs (a dry parse), with
// every file path pointing at a real file.
const EXAMPLES = ['hub-agents', 'konnectivity', 'mtls-cert-manager'];
const containers: Array<{ where: string; c: Container }> = EXAMPLES.flatMap((e) =>
  workloads(render(e)).flatMap((w) => w.pod.containers.map((c) => ({ where: `${e} ${w.source} ${c.name}`, c }))),
);
// The global flags the CLI takes before handing the rest to a command's parser.
const GLOBAL = /^--log-(format|level)=/;

const scratch = mkdtempSync(join(tmpdir(), 'spoke-deploy-flags-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The container's args as the kubelet passes them ($(VAR) from its env). */
function args(c: Container): string[] {
  return expandArgs(c.args ?? [], new Set((c.env ?? []).map((e) => e.name)));
}

/** Points every absolute path value at a file that exists, holding a token line, so file flags read. */
function withRealFiles(argv: readonly string[]): string[] {
  let n = 0;
  return argv.map((a) => {
    const m = /^(--[a-z-]+)=(\/.*)$/.exec(a);
    if (!m || m[1] === '--uds-name') return a;
    const file = join(scratch, `file-${n++}`);
    writeFileSync(file, 'token-0123456789abcdef\n', { mode: 0o600 });
    return `${m[1]}=${file}`;
  });
}

describe('container args use only flags the CLI accepts', () => {
  it('finds the containers of every example', () => {
    expect(containers.length).toBe(6);
  });

  it('every $(VAR) an arg uses is defined in the container env (the kubelet leaves others literal)', () => {
    for (const { where, c } of containers) for (const a of args(c)) expect(a, where).not.toMatch(/\$\(/);
  });

  for (const command of ['hub', 'agent']) {
    it(`spoke ${command}: the built CLI accepts each container's args`, () => {
      const own = containers.filter(({ c }) => c.args?.[0] === command);
      expect(own.length).toBe(2);
      for (const { where, c } of own) {
        const r = runCli([...args(c), '--help']);
        expect(r.stderr, where).toBe('');
        expect(r.status, where).toBe(0);
        expect(r.stdout).toContain(`Usage: spoke ${command}`);
      }
    });
  }

  it('the check works: one unknown flag among the same args is a usage error', () => {
    const hub = containers.find(({ c }) => c.args?.[0] === 'hub');
    const r = runCli([...args(hub?.c ?? { name: '', image: '' }), '--no-such-flag=1', '--help']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("Unknown option '--no-such-flag'");
  });

  it("spoke konnectivity server|agent: the CLI parsers accept each container's args, every flag implemented", () => {
    const konnectivity = containers.filter(({ c }) => c.args?.[0] === 'konnectivity');
    expect(konnectivity.map(({ c }) => c.args?.[1]).sort()).toEqual(['agent', 'server']);
    for (const { where, c } of konnectivity) {
      const [, role, ...rest] = withRealFiles(args(c));
      const flags = rest.filter((a) => !GLOBAL.test(a));
      const parsed = role === 'server' ? parseServerFlags(flags) : parseAgentFlags(flags);
      // Upstream flags spoke accepts without implementing them are reported here; the chart uses none.
      expect(parsed.ignored, where).toEqual([]);
    }
  });
});
