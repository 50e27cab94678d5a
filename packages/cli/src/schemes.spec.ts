import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import type { Command } from './command.js';
import { COMMANDS, type CommandEntry } from './commands/index.js';
import { CLI_BACKENDS, createCliRegistry, loadCliSchemes, schemesNamedIn } from './schemes.js';

describe('lazy command and backend tables', () => {
  it('each command entry names and summarises the command its module exports', async () => {
    for (const entry of COMMANDS) {
      const command = await entry.load();
      expect([command.name, command.summary]).toEqual([entry.name, entry.summary]);
    }
  });

  it('each backend entry lists exactly the schemes its package registers', async () => {
    for (const backend of CLI_BACKENDS) expect((await backend.load()).flatMap((s) => s.schemes)).toEqual(backend.schemes);
  });

  it('loads only the backends a set of schemes needs', async () => {
    expect((await loadCliSchemes(new Set(['ssh']))).flatMap((s) => s.schemes)).toEqual(['ssh']);
    expect(await loadCliSchemes(new Set(['wss']))).toEqual([]);
    expect((await createCliRegistry()).usage()).toContain('spoke+wss://');
  });

  it('reads the schemes a command line names', () => {
    expect(schemesNamedIn(['agent', '--hub', 'wss://h:1', '--id', 'a'])).toEqual(new Set(['wss']));
    expect(schemesNamedIn(['dial', '--via', 'ssh://ops@bastion', '--via=tls://x:1', 'h:22'])).toEqual(new Set(['ssh', 'tls']));
    expect(schemesNamedIn(['proxy', '--route', '10.0.0.0/8=konnectivity+grpc+unix:///s'])).toEqual(new Set(['konnectivity+grpc+unix']));
    // A URI without "//" still reaches its backend, which explains the accepted form.
    expect(schemesNamedIn(['dial', '--via', 'ssh:bastion', 'h:22'])).toEqual(new Set(['ssh']));
  });

  it('asks for every backend when a --via/--route value names no known scheme (the error lists every form)', () => {
    expect(schemesNamedIn(['dial', '--via', 'gopher://x', 'h:22'])).toBeUndefined();
    expect(schemesNamedIn(['dial', '--via', 'bastion:22', 'h:22'])).toBeUndefined();
    expect(schemesNamedIn(['proxy', '--route=10.0.0.0/8=nope://x'])).toBeUndefined();
    expect(schemesNamedIn(['dial', '--via'])).toBeUndefined();
  });
});

describe('runCli loads on use', () => {
  // A command that reports which URI forms its registry has, and counts its imports.
  const probe = (): { entry: CommandEntry; loads: () => number; seen: string[] } => {
    let loads = 0;
    const seen: string[] = [];
    const command: Command = {
      name: 'probe',
      summary: 'reports the registry',
      help: () => 'Usage: spoke probe\n',
      run: (_argv, context) => {
        seen.push(context.registry.usage());
        return Promise.resolve(0);
      },
    };
    return {
      entry: {
        name: command.name,
        summary: command.summary,
        load: () => {
          loads += 1;
          return Promise.resolve(command);
        },
      },
      loads: () => loads,
      seen,
    };
  };
  const io = () => ({ stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env: {} });

  it('imports a command only to run it, and --help lists it from the table', async () => {
    const { entry, loads } = probe();
    const out = io();
    expect(await runCli(['--help'], out, { commands: [entry] })).toBe(0);
    expect(String(out.stdout.read())).toContain('probe  reports the registry');
    expect(loads()).toBe(0);
    expect(await runCli(['probe'], io(), { commands: [entry] })).toBe(0);
    expect(loads()).toBe(1);
  });

  it('gives a command the backends its command line names, and only those', async () => {
    const { entry, seen } = probe();
    await runCli(['probe'], io(), { commands: [entry] });
    await runCli(['probe', '--via', 'ssh://ops@bastion'], io(), { commands: [entry] });
    await runCli(['probe', '--via', 'gopher://x'], io(), { commands: [entry] });
    const [none, ssh, every] = seen;
    expect(none).not.toMatch(/ssh:|tls:|spoke\+wss:|konnectivity/);
    expect(ssh).toContain('ssh://');
    expect(ssh).not.toMatch(/tls:|spoke\+wss:|konnectivity/);
    for (const form of ['tls://', 'ssh://', 'konnectivity+grpc://', 'spoke+wss://']) expect(every).toContain(form);
  });
});
