import { describe, expect, it } from 'vitest';
import { parseRoute } from './routes.js';

describe('kubelet routes', () => {
  it('parses the kubelet paths', () => {
    expect(parseRoute('/healthz/ping')).toEqual({ kind: 'healthz' });
    expect(parseRoute('/pods')).toEqual({ kind: 'pods' });
    expect(parseRoute('/containerLogs/ns/p/c?follow=true')).toEqual({ kind: 'containerLogs', namespace: 'ns', pod: 'p', container: 'c' });
    expect(parseRoute('/exec/ns/p/uid/c')).toEqual({ kind: 'exec', namespace: 'ns', pod: 'p', container: 'c' });
    expect(parseRoute('/attach/ns/p/c')).toEqual({ kind: 'attach', namespace: 'ns', pod: 'p', container: 'c' });
    expect(parseRoute('/portForward/ns/p')).toEqual({ kind: 'portForward', namespace: 'ns', pod: 'p' });
    expect(parseRoute('/exec/ns')).toEqual({ kind: 'unknown' });
    expect(parseRoute('/nope')).toEqual({ kind: 'unknown' });
  });
});
