import { describe, expect, it } from 'vitest';
import type { DemoNode } from './cluster.js';
import { nodeRows } from './checks.js';
import type { KubeClient } from './kube-client.js';
import { renderTable } from './table.js';

const node = { name: 'node-9', path: 'test path', pod: 'web-9', body: 'hello\n', logTail: 'a\nb\n' } as DemoNode;

function fakeClient(overrides: Partial<KubeClient>): KubeClient {
  return {
    description: 'fake',
    spell: (check) => check,
    nodes: () => Promise.resolve(new Map([['node-9', 'True']])),
    logs: () => Promise.resolve('a\nb\n'),
    exec: (_pod, _argv, stdin) => Promise.resolve({ stdout: stdin, stderr: '', code: 3 }),
    portForwardGet: () => Promise.resolve({ status: 200, body: 'hello\n' }),
    raw: () => Promise.resolve('ok\n'),
    ...overrides,
  };
}

const within = (): AbortSignal => AbortSignal.timeout(1_000);

describe('nodeRows', () => {
  it('passes when every answer is the expected one', async () => {
    const rows = await nodeRows(fakeClient({}), node, within);
    expect(rows.map((r) => [r.check, r.ok, r.result])).toEqual([
      ['logs', true, '2 lines: "b"'],
      ['exec', true, 'stdin echoed, exit code 3'],
      ['port-forward', true, '200 hello'],
      ['node-proxy', true, 'ok'],
    ]);
    expect(renderTable(rows)).toContain('node-9 test path');
  });

  it('fails a row whose exit code, body or error is wrong, with the reason', async () => {
    const rows = await nodeRows(
      fakeClient({
        exec: (_pod, _argv, stdin) => Promise.resolve({ stdout: stdin, stderr: 'boom', code: 0 }),
        portForwardGet: () => Promise.resolve({ status: 200, body: 'something else\n' }),
        raw: () => Promise.reject(Object.assign(new Error('error dialing backend'), { code: 'ERR_DIAL_REFUSED' })),
      }),
      node,
      within,
    );
    expect(rows.map((r) => r.ok)).toEqual([true, false, false, false]);
    expect(rows[1]?.result).toContain('exit code 0, want 3 (stderr: boom)');
    expect(rows[2]?.result).toContain('HTTP body: got "something else\\n"');
    expect(rows[3]?.result).toBe('ERR_DIAL_REFUSED: error dialing backend');
    expect(renderTable(rows)).toContain('✘');
  });
});
