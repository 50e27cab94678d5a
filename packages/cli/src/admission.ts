import type { Duplex } from 'node:stream';

/**
 * Caps the client connections a proxy holds at once, across all its
 * listeners, so a flood cannot exhaust file descriptors or tunnel streams.
 */
export class Admission {
  private current = 0;

  constructor(readonly max: number) {}

  /** Counts `socket` until it closes and returns true, or returns false when the cap is reached. */
  admit(socket: Duplex): boolean {
    if (this.current >= this.max) return false;
    this.current += 1;
    socket.once('close', () => {
      this.current -= 1;
    });
    return true;
  }
}
