import { describe, expect, it } from 'vitest';
import { SpokeError, SPOKE_ERROR_CODES, abortError, isAbortError, isSpokeError } from './errors.js';

describe('SpokeError', () => {
  it('carries code, target, hop and cause', () => {
    const cause = new Error('inner');
    const err = new SpokeError('ERR_NO_ROUTE', 'no agent; start one', { cause, target: { host: '::1', port: 1 }, hop: 'hub' });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('SpokeError');
    expect(err.code).toBe('ERR_NO_ROUTE');
    expect(err.target).toBe('[::1]:1');
    expect(err.hop).toBe('hub');
    expect(err.cause).toBe(cause);
    expect(err.retryable).toBe(true);
    expect(isSpokeError(err, 'ERR_NO_ROUTE')).toBe(true);
    expect(isSpokeError(err, 'ERR_PROTOCOL')).toBe(false);
  });

  it('is recognised across two installed copies (brand, not prototype)', () => {
    // What a second copy of the package produces: a different class, the same registry symbol.
    class OtherCopy extends Error {
      code = 'ERR_DIAL_REFUSED';
      constructor() {
        super('refused');
        Object.defineProperty(this, Symbol.for('@spoke/transport-core/SpokeError'), { value: true });
      }
    }
    const foreign = new OtherCopy();
    expect(foreign instanceof SpokeError).toBe(true);
    expect(new Error('plain') instanceof SpokeError).toBe(false);
    expect((null as unknown) instanceof SpokeError).toBe(false);
  });

  it.each([
    ['ECONNREFUSED', 'ERR_DIAL_REFUSED'],
    ['ENOENT', 'ERR_DIAL_REFUSED'],
    ['ETIMEDOUT', 'ERR_DIAL_TIMEOUT'],
    ['ENOTFOUND', 'ERR_DIAL_UNREACHABLE'],
    ['EHOSTUNREACH', 'ERR_DIAL_UNREACHABLE'],
    ['ECONNRESET', 'ERR_STREAM_RESET'],
    ['EPIPE', 'ERR_STREAM_RESET'],
    ['EACCES', 'ERR_DIAL_DENIED'],
    ['EWHATEVER', 'ERR_INTERNAL'],
  ])('maps system error %s to %s with advice', (sys, code) => {
    const e = Object.assign(new Error(`connect ${sys}`), { code: sys });
    const err = SpokeError.from(e, { target: '10.0.0.1:22', hop: 'net' });
    expect(err.code).toBe(code);
    expect(err.cause).toBe(e);
    expect(err.target).toBe('10.0.0.1:22');
    expect(err.message).toContain('10.0.0.1:22');
    expect(err.message).toMatch(/\. [A-Z][^.]*\.$/);
  });

  it('passes SpokeErrors through, filling missing context', () => {
    const inner = new SpokeError('ERR_PROTOCOL', 'bad frame; upgrade the peer');
    expect(SpokeError.from(inner)).toBe(inner);
    const filled = SpokeError.from(inner, { target: 'a:1', hop: 'spoke' });
    expect(filled.code).toBe('ERR_PROTOCOL');
    expect(filled.target).toBe('a:1');
    expect(filled.hop).toBe('spoke');
  });

  it('maps non-errors to ERR_INTERNAL', () => {
    expect(SpokeError.from('weird').code).toBe('ERR_INTERNAL');
    expect(SpokeError.from(undefined).message).toMatch(/report/);
  });

  it('lists every code once', () => {
    expect(new Set(SPOKE_ERROR_CODES).size).toBe(SPOKE_ERROR_CODES.length);
    expect(SPOKE_ERROR_CODES.every((c) => c.startsWith('ERR_'))).toBe(true);
  });
});

describe('abortError', () => {
  it('looks like the platform AbortError', () => {
    const reason = new Error('user left');
    const err = abortError(reason);
    expect(err.name).toBe('AbortError');
    expect(err.code).toBe('ABORT_ERR');
    expect(err.cause).toBe(reason);
    expect(isAbortError(err)).toBe(true);
    expect(isAbortError(new DOMException('x', 'AbortError'))).toBe(true);
    expect(isAbortError(new Error('x'))).toBe(false);
  });
});
