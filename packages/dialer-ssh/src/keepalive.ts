import type { Client } from 'ssh2';

/** The parts of an ssh2 1.x Client that its own keepalive uses (not in its typings). */
interface Ssh2Internals {
  _sock?: { writable?: boolean };
  _protocol?: { ping?: () => void };
  _callbacks?: unknown[];
}

/** Settings of {@link startKeepalive}. */
export interface KeepaliveOptions {
  /** Between two keepalives (ServerAliveInterval); 0 turns keepalives off. */
  intervalMs: number;
  /** Unanswered keepalives before the peer is declared dead (ServerAliveCountMax). */
  countMax: number;
  /** Called once when the peer stopped answering, with ssh2's own error for that case. */
  onDead: (err: Error) => void;
}

/**
 * SSH keepalives like OpenSSH's ServerAliveInterval/ServerAliveCountMax, on
 * an unreferenced timer. ssh2's built-in keepalive (`keepaliveInterval`) runs
 * on a referenced interval nobody can reach, so an idle pooled connection
 * would hold the process open for as long as it lives; with this one, whether
 * the process stays up is decided by the socket's reference alone (see
 * UsageRef). Returns a function that stops the keepalives.
 */
export function startKeepalive(client: Client, options: KeepaliveOptions): () => void {
  const { intervalMs, countMax, onDead } = options;
  if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) return () => {};
  let unanswered = 0;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const check = (): void => {
    immediate = undefined;
    if (++unanswered > countMax) {
      onDead(Object.assign(new Error('Keepalive timeout'), { level: 'client-timeout' }));
      return;
    }
    if (!sendPing(client, () => (unanswered = 0))) return;
    timer = setTimeout(tick, intervalMs);
    timer.unref();
  };
  const tick = (): void => {
    timer = undefined;
    // Timers run before pending I/O is read: after a busy stretch the answer may be waiting in the socket. Decide after it.
    // Referenced on purpose: an unreferenced immediate can wait for unrelated I/O; this one holds for a single turn.
    immediate = setImmediate(check);
  };
  timer = setTimeout(tick, intervalMs);
  timer.unref();
  return () => {
    clearTimeout(timer);
    clearImmediate(immediate);
    timer = undefined;
    immediate = undefined;
  };
}

/** Sends one keepalive; `onReply` runs when the server answers it. False when the connection can no longer send. */
function sendPing(client: Client, onReply: () => void): boolean {
  const internals = client as unknown as Ssh2Internals;
  if (internals._sock?.writable !== true) return false;
  // Exactly what ssh2's own keepalive sends: a keepalive@openssh.com global request, whose reply (failure or
  // success, either proves the peer alive) is matched in order with the other global requests' callbacks.
  if (typeof internals._protocol?.ping === 'function' && Array.isArray(internals._callbacks)) {
    internals._callbacks.push(onReply);
    internals._protocol.ping();
    return true;
  }
  // Should a later ssh2 rename those: every global request with want-reply gets an answer (RFC 4254 §4), and
  // cancelling a forward this connection never asked for changes nothing on the server.
  client.unforwardIn('127.0.0.1', 0, onReply);
  return true;
}
