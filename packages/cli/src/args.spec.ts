import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['7', 7000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text, 'grace', '')).toBe(ms);
  });

  it.each(['', 'soon', '-1s', '0', '10 parsecs', '1d'])('rejects %j', (text) => {
    expect(() => parseDuration(text, 'grace', '')).toThrow(/--grace/);
  });
});
