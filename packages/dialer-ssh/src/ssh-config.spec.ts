import { describe, expect, it } from 'vitest';
import { SpokeError } from '@spoke/transport-core';
import { expandSshPath, hostPatternsMatch, parseJumpHost, parseSshConfig, resolveSshHost } from './ssh-config.js';

const resolve = (text: string, host: string) => resolveSshHost(parseSshConfig(text, 'cfg'), host);

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof SpokeError ? err.code : 'not a SpokeError';
  }
  return undefined;
};

describe('ssh_config parsing', () => {
  it('reads key value, key=value and key = value, keywords in any case, comments and quotes', () => {
    const got = resolve(
      [
        '# a comment',
        'Host node1',
        '  HOSTNAME=10.0.0.1',
        '  user = ops # trailing comment',
        '\tPort\t2222',
        '  IdentityFile "/keys/with space/id"',
        '',
      ].join('\n'),
      'node1',
    );
    expect(got).toMatchObject({ hostName: '10.0.0.1', user: 'ops', port: 2222, identityFiles: ['/keys/with space/id'] });
    expect(got.sources.port).toBe('cfg:5');
  });

  it('keeps the first value obtained, across sections, but adds up IdentityFiles', () => {
    const got = resolve(
      ['Host web*', '  User first', '  IdentityFile a', 'Host *', '  User second', '  Port 22', '  IdentityFile b'].join('\n'),
      'web1',
    );
    expect(got).toMatchObject({ user: 'first', port: 22, identityFiles: ['a', 'b'] });
  });

  it('applies lines before the first Host to every host, and Match all', () => {
    expect(resolve('User everyone\nHost x\n  User x', 'y').user).toBe('everyone');
    expect(resolve('Match all\n  Port 2200', 'y').port).toBe(2200);
  });

  it('matches * and ? wildcards and vetoes with !negation, case-insensitively', () => {
    expect(hostPatternsMatch(['*.example.com'], 'A.Example.COM')).toBe(true);
    expect(hostPatternsMatch(['node?'], 'node1')).toBe(true);
    expect(hostPatternsMatch(['node?'], 'node10')).toBe(false);
    expect(hostPatternsMatch(['*', '!bastion'], 'bastion')).toBe(false);
    expect(hostPatternsMatch(['!bastion'], 'other')).toBe(false);
    expect(hostPatternsMatch(['a.b'], 'axb')).toBe(false);
    expect(resolve('Host * !jump\n  ProxyJump jump\n', 'jump').proxyJump).toBeUndefined();
    expect(resolve('Host * !jump\n  ProxyJump jump\n', 'node').proxyJump).toEqual([{ host: 'jump' }]);
  });

  it('reads ProxyJump lists, none, IdentitiesOnly, UserKnownHostsFile and StrictHostKeyChecking', () => {
    const got = resolve(
      [
        'Host n',
        '  ProxyJump ops@j1:2022,j2,[::1]:23',
        '  IdentitiesOnly yes',
        '  UserKnownHostsFile ~/k1 ~/k2',
        '  StrictHostKeyChecking no',
      ].join('\n'),
      'n',
    );
    expect(got.proxyJump).toEqual([{ host: 'j1', user: 'ops', port: 2022 }, { host: 'j2' }, { host: '::1', port: 23 }]);
    expect(got).toMatchObject({ identitiesOnly: true, userKnownHostsFiles: ['~/k1', '~/k2'], strictHostKeyChecking: 'no' });
    expect(resolve('Host n\n ProxyJump none\nHost *\n ProxyJump j', 'n').proxyJump).toEqual([]);
    expect(parseJumpHost('ssh://u@h:22', 'x')).toEqual({ host: 'h', user: 'u', port: 22 });
  });

  it('notes Include and Match criteria it does not follow, and never applies such a Match section', () => {
    const config = parseSshConfig('Include ~/.ssh/conf.d/*\nMatch host x exec "true"\n  User matched\n', 'cfg');
    expect(config.notes).toEqual([
      'cfg:1: Include is not supported; ~/.ssh/conf.d/* not read',
      'cfg:2: Match host x exec true is not evaluated; its section is not applied',
    ]);
    expect(resolveSshHost(config, 'x').user).toBeUndefined();
  });

  it('refuses malformed lines with ERR_BAD_CONFIG naming file and line', () => {
    expect(codeOf(() => parseSshConfig('Host', 'cfg'))).toBe('ERR_BAD_CONFIG');
    expect(codeOf(() => parseSshConfig('User', 'cfg'))).toBe('ERR_BAD_CONFIG');
    expect(codeOf(() => parseSshConfig('IdentityFile "/unclosed', 'cfg'))).toBe('ERR_BAD_CONFIG');
    expect(codeOf(() => resolve('Port 70000', 'h'))).toBe('ERR_BAD_CONFIG');
    expect(codeOf(() => resolve('IdentitiesOnly maybe', 'h'))).toBe('ERR_BAD_CONFIG');
    expect(codeOf(() => resolve('ProxyJump a@b@c', 'h'))).toBe('ERR_BAD_CONFIG');
    expect(() => resolve('\nPort x', 'h')).toThrow(/cfg:2/);
  });

  it('ignores keywords it does not use', () => {
    expect(resolve('ForwardAgent yes\nCompression yes\nUser u', 'h')).toMatchObject({ user: 'u', identityFiles: [] });
  });
});

describe('ssh_config path tokens', () => {
  const tokens = { host: '10.0.0.1', alias: 'node1', port: 2222, user: 'ops', localUser: 'me', home: '/home/me' };
  it('expands ~ and %h %n %p %r %u %d %%', () => {
    expect(expandSshPath('~/.ssh/id_%h_%n_%p_%r_%u_%%', tokens, 'x')).toBe('/home/me/.ssh/id_10.0.0.1_node1_2222_ops_me_%');
    expect(expandSshPath('%d/k', tokens, 'x')).toBe('/home/me/k');
    expect(expandSshPath('/abs/~x', tokens, 'x')).toBe('/abs/~x');
  });
  it('refuses unknown tokens', () => {
    expect(codeOf(() => expandSshPath('%C', tokens, 'x'))).toBe('ERR_BAD_CONFIG');
  });
});
