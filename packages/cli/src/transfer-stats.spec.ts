import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CliIo } from './command.js';
import { TransferStats, formatBytes, startStatusLine } from './transfer-stats.js';

function io(isTTY: boolean): { io: CliIo; text: () => string } {
  const stderr = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  stderr.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return { io: { stdin: new PassThrough(), stdout: new PassThrough(), stderr, env: {} }, text: () => text };
}

describe('live counters', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('redraw one line on a TTY and clear it when stopped', () => {
    vi.useFakeTimers();
    let open = 0;
    const stats = new TransferStats(() => open);
    const tty = io(true);
    const stop = startStatusLine(stats, tty.io, 500);
    stats.up = 2048;
    open = 1;
    vi.advanceTimersByTime(500);
    expect(tty.text()).toBe('\r\x1b[2K1 open, 0 total, 0 failed, up 2.0 KiB, down 0 B');
    stop();
    expect(tty.text().endsWith('\r\x1b[2K')).toBe(true);
  });

  it('stay silent when stderr is not a terminal', () => {
    vi.useFakeTimers();
    const pipe = io(false);
    const stop = startStatusLine(new TransferStats(), pipe.io, 500);
    vi.advanceTimersByTime(5000);
    stop();
    expect(pipe.text()).toBe('');
  });

  it('format sizes', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(310 * 1024 * 1024)).toBe('310.0 MiB');
  });
});
