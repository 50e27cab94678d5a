import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe('logger', () => {
  const now = () => new Date('2026-01-02T03:04:05.000Z');
  it('writes text lines with fields, filtered by level', () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l), now, level: 'info' }).child({ component: 'hub' });
    log.debug('hidden');
    log.info('agent connected', { agent: 'node 1', streams: 3 });
    expect(lines).toEqual(['2026-01-02T03:04:05.000Z INFO  agent connected component=hub agent="node 1" streams=3\n']);
  });
  it('writes JSON lines', () => {
    const lines: string[] = [];
    createLogger({ format: 'json', write: (l) => lines.push(l), now }).warn('denied', { target: '10.0.0.1:22' });
    expect(JSON.parse(lines[0] as string)).toEqual({
      time: '2026-01-02T03:04:05.000Z',
      level: 'warn',
      msg: 'denied',
      target: '10.0.0.1:22',
    });
  });
});
