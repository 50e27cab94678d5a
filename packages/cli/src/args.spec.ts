import { describe, expect, it } from 'vitest';
import { durationFlag } from './args.js';
import { UsageError } from './errors.js';

describe('durationFlag', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['7', 7000],
  ])('%s → %d ms', (text, ms) => {
    expect(durationFlag({ grace: text }, 'grace', 1, '')).toBe(ms);
  });

  it('falls back to the default when the flag is absent', () => {
    expect(durationFlag({}, 'grace', 10_000, '')).toBe(10_000);
  });

  it.each(['', 'soon', '-1s', '0', '0s', '10 parsecs', '1d'])('rejects %j with a usage error naming the flag', (text) => {
    expect(() => durationFlag({ grace: text }, 'grace', 1, 'usage')).toThrow(UsageError);
    expect(() => durationFlag({ grace: text }, 'grace', 1, 'usage')).toThrow(/--grace/);
  });
});
