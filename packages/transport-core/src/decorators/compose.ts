import type { Dialer, DialerDecorator } from '../dialer.js';

/**
 * Applies decorators in reading order: `compose(d, withRetry(), withTimeout(5000))`
 * retries inside a 5 s overall bound.
 */
export function compose(dialer: Dialer, ...decorators: DialerDecorator[]): Dialer {
  return decorators.reduce((d, decorate) => decorate(d), dialer);
}
