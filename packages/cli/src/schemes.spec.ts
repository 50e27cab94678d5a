import { describe, expect, it } from 'vitest';
import { COMMANDS } from './commands/index.js';
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
