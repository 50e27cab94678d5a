import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ptyAvailable, spawnPty } from './pty.js';

function run(proc: ChildProcess): Promise<{ out: string; code: number | null }> {
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => proc.once('close', (code) => resolve({ out, code })));
}

describe('pty helper', () => {
  it('is available on this machine (python3 with pty, fcntl, termios)', () => {
    expect(ptyAvailable()).toBe(true);
  });

  it('applies a resize before input that follows it, and returns the exit code', async () => {
    const p = spawnPty(['sh', '-c', 'read x; stty size; echo "got $x"; exit 3'], { cwd: '/', env: process.env });
    const done = run(p.process);
    p.resize({ Width: 100, Height: 30 });
    p.write(Buffer.from('hello\n'));
    const { out, code } = await done;
    expect(out).toContain('30 100');
    expect(out).toContain('got hello');
    expect(code).toBe(3);
  });

  it('types EOF at the end of input, so cat ends', async () => {
    const p = spawnPty(['cat'], { cwd: '/', env: process.env });
    const done = run(p.process);
    p.write(Buffer.from('abc\n'));
    p.endInput();
    const { out, code } = await done;
    expect(out.replace(/\r/g, '')).toBe('abc\nabc\n'); // the terminal echoes input, then cat prints it
    expect(code).toBe(0);
  });

  it('keeps output flowing while input waits for a command that reads slowly (no deadlock on a full terminal)', async () => {
    const p = spawnPty(['sh', '-c', 'sleep 0.2; wc -l'], { cwd: '/', env: process.env });
    const done = run(p.process);
    p.write(Buffer.from(`${'x'.repeat(99)}\n`.repeat(2_000))); // 200 kB: far more than a terminal's input buffer
    p.endInput();
    const { out, code } = await done;
    expect(out.trimEnd().split('\n').at(-1)?.trim()).toBe('2000');
    expect(code).toBe(0);
  });

  it('reports a missing command as 127 with the reason on the terminal', async () => {
    const { out, code } = await run(spawnPty(['spoke-no-such-command'], { cwd: '/', env: process.env }).process);
    expect(out).toContain('exec: spoke-no-such-command');
    expect(code).toBe(127);
  });
});
