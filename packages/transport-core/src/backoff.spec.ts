import { describe, expect, it } from 'vitest';
import { backoffDelay, createBackoff } from './backoff.js';

describe('backoff', () => {
  it('grows by factor up to the cap, jitter within bounds', () => {
    const b = createBackoff({ initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.5 });
    expect(backoffDelay(b, 0, () => 0.5)).toBe(100);
    expect(backoffDelay(b, 3, () => 0.5)).toBe(800);
    expect(backoffDelay(b, 10, () => 0.5)).toBe(1000);
    expect(backoffDelay(b, 0, () => 0)).toBe(50);
    expect(backoffDelay(b, 0, () => 1)).toBe(150);
    expect(backoffDelay(b, 10, () => 1)).toBe(1000);
  });

  it('rejects nonsense with ERR_BAD_OPTION', () => {
    expect(() => createBackoff({ factor: 0.5 })).toThrowError(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
    expect(() => createBackoff({ initialDelayMs: 10, maxDelayMs: 5 })).toThrowError(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
    expect(() => createBackoff({ jitter: 2 })).toThrowError(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
  });
});
