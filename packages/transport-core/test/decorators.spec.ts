import diagnostics from 'node:diagnostics_channel';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DIAL_CHANNELS,
  SpokeError,
  compose,
  createMemoryDialer,
  isAbortError,
  runDial,
  withDiagnostics,
  withHooks,
  withRetry,
  withTimeout,
  type DialErrorEvent,
  type Dialer,
} from '@spoke/transport-core';
import { abortReasonAsError } from '@spoke/transport-core/utils';
import { createDuplexPair } from '@spoke/transport-core';
import { echo, readAll } from '@spoke/transport-core/testing';

/** A dialer that fails `failures` times with `code`, then dials the memory network. */
function flaky(inner: Dialer, failures: number, code: SpokeError['code'] = 'ERR_DIAL_REFUSED'): Dialer & { attempts: number } {
  const d = {
    kind: 'flaky',
    attempts: 0,
    async dial(target: string | { host: string; port: number } | { path: string }, options?: { signal?: AbortSignal }) {
      d.attempts++;
      if (d.attempts <= failures) throw new SpokeError(code, `scripted failure ${d.attempts}; retry`);
      return inner.dial(target, options);
    },
    close: () => inner.close(),
  };
  return d;
}

const hang: Dialer = {
  kind: 'hang',
  dial: (_t, o) => new Promise((_, reject) => o?.signal?.addEventListener('abort', () => reject(abortReasonAsError(o.signal?.reason)))),
  close: async () => {},
};

describe('withRetry', () => {
  it('retries retryable failures with backoff, then succeeds', async () => {
    const mem = createMemoryDialer();
    mem.listen('svc:1', echo);
    const f = flaky(mem, 2);
    const d = withRetry({ retries: 3, initialDelayMs: 1, maxDelayMs: 5 })(f);
    const s = await d.dial('svc:1');
    s.end('ok');
    expect((await readAll(s)).toString()).toBe('ok');
    expect(f.attempts).toBe(3);
  });

  it('gives up after `retries` with the last error', async () => {
    const f = flaky(createMemoryDialer(), 10);
    const err = await withRetry({ retries: 2, initialDelayMs: 1 })(f)
      .dial('svc:1')
      .catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_DIAL_REFUSED');
    expect(f.attempts).toBe(3);
  });

  it('does not retry permanent errors', async () => {
    const f = flaky(createMemoryDialer(), 10, 'ERR_AUTH_FAILED');
    const err = await withRetry({ retries: 5, initialDelayMs: 1 })(f)
      .dial('svc:1')
      .catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_AUTH_FAILED');
    expect(f.attempts).toBe(1);
  });

  it('stops waiting between attempts when aborted', async () => {
    const f = flaky(createMemoryDialer(), 10);
    const ac = new AbortController();
    const p = withRetry({ retries: 5, initialDelayMs: 60_000, maxDelayMs: 60_000 })(f).dial('svc:1', { signal: ac.signal });
    setImmediate(() => ac.abort());
    expect(isAbortError(await p.catch((e: unknown) => e))).toBe(true);
    expect(f.attempts).toBe(1);
  });

  it('validates options', () => {
    expect(() => withRetry({ retries: -1 })).toThrowError(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
  });
});

describe('withTimeout', () => {
  it('bounds a backend that ignores time', async () => {
    const err = await withTimeout(50)(hang)
      .dial('a:1')
      .catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_DIAL_TIMEOUT');
  });
  it('lets a shorter per-dial timeout win', async () => {
    const err = await withTimeout(60_000)(hang)
      .dial('a:1', { timeoutMs: 30 })
      .catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_DIAL_TIMEOUT');
  });
  it('rejects a bad timeout', () => {
    expect(() => withTimeout(-5)).toThrowError(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
  });
});

describe('withHooks and withDiagnostics', () => {
  const subs: Array<[string, (m: unknown) => void]> = [];
  afterEach(() => {
    for (const [name, fn] of subs.splice(0)) diagnostics.unsubscribe(name, fn);
  });

  it('reports start, connected and error; a throwing hook changes nothing', async () => {
    const mem = createMemoryDialer();
    mem.listen('svc:1', echo);
    const seen: string[] = [];
    let failure: DialErrorEvent | undefined;
    const d = withHooks({
      onDialStart: (e) => seen.push(`start ${e.target}`),
      onDialConnected: (e) => {
        seen.push(`connected ${e.target} ${e.durationMs >= 0}`);
        throw new Error('hook bug');
      },
      onDialError: (e) => {
        failure = e;
      },
    })(mem);
    const s = await d.dial('svc:1');
    s.destroy();
    await d.dial('svc:2').catch(() => {});
    expect(seen).toEqual(['start svc:1', 'connected svc:1 true', 'start svc:2']);
    expect(failure?.code).toBe('ERR_DIAL_REFUSED');
    expect(failure?.aborted).toBe(false);
  });

  it('publishes on node:diagnostics_channel', async () => {
    const mem = createMemoryDialer();
    mem.listen('svc:1', echo);
    const events: string[] = [];
    for (const name of Object.values(DIAL_CHANNELS)) {
      const fn = (m: unknown): void => {
        events.push(`${name} ${(m as { target: string }).target}`);
      };
      diagnostics.subscribe(name, fn);
      subs.push([name, fn]);
    }
    const d = compose(mem, withDiagnostics());
    (await d.dial('svc:1')).destroy();
    const ac = new AbortController();
    ac.abort();
    await d.dial('svc:1', { signal: ac.signal }).catch(() => {});
    expect(events).toEqual(['spoke:dial:start svc:1', 'spoke:dial:connected svc:1', 'spoke:dial:start svc:1', 'spoke:dial:error svc:1']);
  });
});

describe('runDial', () => {
  it('destroys a stream that arrives after the dial was abandoned', async () => {
    const [late, other] = createDuplexPair();
    const otherClosed = new Promise<unknown>((r) => other.once('error', r));
    let deliver!: () => void;
    const p = runDial({ timeoutMs: 20 }, { target: 'x:1', hop: 'test' }, () => new Promise<Duplex>((r) => (deliver = () => r(late))));
    const err = await p.catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_DIAL_TIMEOUT');
    deliver();
    await new Promise((r) => late.once('close', r));
    expect(late.destroyed).toBe(true);
    expect(await otherClosed).toMatchObject({ code: 'ERR_STREAM_RESET' });
  });

  it('turns a synchronous throw into a rejection with a SpokeError', async () => {
    const err = await runDial(undefined, { target: 'x:1', hop: 't' }, () => {
      throw Object.assign(new Error('boom'), { code: 'ECONNREFUSED' });
    }).catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_DIAL_REFUSED');
  });

  it('rejects invalid timeoutMs with ERR_BAD_OPTION', async () => {
    const err = await runDial({ timeoutMs: Number.NaN }, { target: 'x:1', hop: 't' }, () => new Promise<Duplex>(() => {})).catch(
      (e: unknown) => e,
    );
    expect((err as SpokeError).code).toBe('ERR_BAD_OPTION');
  });
});
