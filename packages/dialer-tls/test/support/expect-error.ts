import { expect } from 'vitest';
import { SpokeError } from '@spoke/transport-core';

/** Awaits a promise that must reject with a SpokeError, and returns that error. */
export async function rejection(p: Promise<unknown>): Promise<SpokeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SpokeError);
  return err as SpokeError;
}
