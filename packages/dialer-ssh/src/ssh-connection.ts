import { setTimeout as sleep } from 'node:timers/promises';
import type { Duplex } from 'node:stream';
import ssh2, { type Algorithms, type Client, type ServerHostKeyAlgorithm } from 'ssh2';
import { SpokeError, dialerClosedError, type Dialer } from '@spoke/transport-core';
import { abortReasonToError, backoffDelay, onAbort, raceSignal, UsageRef, type Backoff } from '@spoke/transport-core/utils';
import type { Credentials, AuthTrace } from './auth.js';
import { mapClientError } from './errors.js';
import type { HostVerifier } from './host-verifier.js';
import { startKeepalive } from './keepalive.js';
import type { SshStream } from './ssh-stream.js';

/** Internal settings of one pooled SSH connection. */
export interface SshConnectionInit {
  host: string;
  port: number;
  username: string;
  hop: string;
  via: Dialer;
  credentials: Credentials;
  verifier: HostVerifier;
  keepaliveMs: number;
  keepaliveCountMax: number;
  readyTimeoutMs: number;
  idleTimeoutMs: number;
  backoff: Backoff;
  algorithms?: Algorithms;
}

/**
 * A ready SSH client and what keeps its socket referenced: a dial in
 * progress or an open channel, never the idle connection itself.
 */
export interface PooledClient {
  client: Client;
  usage: UsageRef;
}

interface Pending {
  promise: Promise<PooledClient>;
  controller: AbortController;
  waiters: number;
}

/**
 * The one SSH connection a dialer keeps to its server: opened on first use,
 * shared by every channel, re-opened after a failure (waiting with backoff
 * between failed attempts), closed after `idleTimeoutMs` without channels.
 * It keeps the process alive only while it is being opened or used (see
 * {@link PooledClient}): a program that is done exits without `close()`.
 */
export class SshConnection {
  readonly #init: SshConnectionInit;
  #client: PooledClient | undefined;
  #pending: Pending | undefined;
  #failures = 0;
  #nextAttemptAt = 0;
  #closed = false;
  readonly #streams = new Set<SshStream>();
  #channels = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #drained: (() => void) | undefined;

  constructor(init: SshConnectionInit) {
    this.#init = init;
  }

  /** Whether a ready connection exists right now. */
  get connected(): boolean {
    return this.#client !== undefined;
  }

  /**
   * A ready client. Concurrent callers share one attempt; the attempt is
   * cancelled when every caller waiting for it gave up, so an abandoned dial
   * leaves no half-open connection behind.
   */
  async acquire(signal: AbortSignal): Promise<PooledClient> {
    if (this.#closed) throw this.#closedError();
    if (this.#client) return this.#client;
    let pending = this.#pending;
    if (!pending) {
      const controller = new AbortController();
      pending = { controller, waiters: 0, promise: this.#connect(controller.signal) };
      const mine = pending;
      this.#pending = mine;
      mine.promise.then(
        () => {
          if (this.#pending === mine) this.#pending = undefined;
        },
        () => {
          if (this.#pending === mine) this.#pending = undefined;
        },
      );
    }
    pending.waiters++;
    try {
      return await raceSignal(pending.promise, signal);
    } finally {
      pending.waiters--;
      if (pending.waiters === 0 && this.#pending === pending && signal.aborted) {
        this.#pending = undefined;
        pending.controller.abort(signal.reason);
      }
    }
  }

  /** Counts a channel against idleness while it is being opened or used. */
  channelOpened(): () => void {
    this.#channels++;
    this.#stopIdle();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#channels--;
      if (this.#channels === 0) this.#startIdle();
    };
  }

  /** Tracks a live stream so it fails loudly if the connection dies. */
  track(stream: SshStream): void {
    this.#streams.add(stream);
    stream.once('close', () => {
      this.#streams.delete(stream);
      if (this.#streams.size === 0) this.#drained?.();
    });
  }

  /**
   * Refuses further use, lets the streams already handed out finish, then
   * ends the connection with an SSH disconnect.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopIdle();
    this.#pending?.controller.abort(this.#closedError());
    this.#pending = undefined;
    if (this.#streams.size > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    const pooled = this.#client;
    this.#client = undefined;
    if (pooled) await endClient(pooled.client);
  }

  /** Ends the connection now; open streams fail with ERR_TUNNEL_CLOSED (caused by `err`, if given). */
  destroy(err?: Error): void {
    this.#closed = true;
    this.#stopIdle();
    this.#pending?.controller.abort(this.#closedError());
    this.#pending = undefined;
    for (const s of [...this.#streams]) s.connectionLost(err);
    const client = this.#client?.client;
    this.#client = undefined;
    if (client) {
      client.on('error', () => {});
      (client as unknown as { _sock?: Duplex })._sock?.destroy();
    }
    this.#drained?.();
  }

  // The same words dialTarget uses when a dial comes after close().
  #closedError(): SpokeError {
    return dialerClosedError(`${this.#init.hop} dialer`, { hop: this.#init.hop });
  }

  #startIdle(): void {
    this.#stopIdle();
    if (!this.#client || !(this.#init.idleTimeoutMs > 0) || !Number.isFinite(this.#init.idleTimeoutMs)) return;
    const pooled = this.#client;
    this.#idleTimer = setTimeout(() => {
      if (this.#client === pooled && this.#channels === 0) {
        this.#client = undefined;
        void endClient(pooled.client);
      }
    }, this.#init.idleTimeoutMs);
    // An idle pool must not keep the process alive on its own.
    this.#idleTimer.unref();
  }

  #stopIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  async #connect(signal: AbortSignal): Promise<PooledClient> {
    const wait = this.#nextAttemptAt - Date.now();
    if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => Promise.reject(abortReasonToError(signal.reason)));
    try {
      const pooled = await this.#handshake(signal);
      this.#failures = 0;
      this.#adopt(pooled);
      return pooled;
    } catch (err) {
      if (!signal.aborted) {
        this.#nextAttemptAt = Date.now() + backoffDelay(this.#init.backoff, this.#failures);
        this.#failures++;
      }
      throw err;
    }
  }

  #adopt(pooled: PooledClient): void {
    const { client } = pooled;
    this.#client = pooled;
    let lastError: Error | undefined;
    client.on('error', (err: Error) => {
      lastError = err;
    });
    const sock = (): Duplex | undefined => (client as unknown as { _sock?: Duplex })._sock;
    // With a half-open-capable socket ssh2 would wait forever after the server's FIN: finish the close.
    client.on('end', () => sock()?.destroy());
    const stopKeepalive = startKeepalive(client, {
      intervalMs: this.#init.keepaliveMs,
      countMax: this.#init.keepaliveCountMax,
      onDead: (err) => {
        lastError = err;
        sock()?.destroy();
      },
    });
    client.once('close', () => {
      stopKeepalive();
      if (this.#client === pooled) this.#client = undefined;
      this.#stopIdle();
      // Runs before ssh2 tears the channels down as if they had ended cleanly.
      const cause = lastError ? mapClientError(lastError, { hop: this.#init.hop }) : undefined;
      for (const s of [...this.#streams]) s.connectionLost(cause);
    });
    if (this.#channels === 0) this.#startIdle();
  }

  async #handshake(signal: AbortSignal): Promise<PooledClient> {
    const init = this.#init;
    signal.throwIfAborted();
    const sock = await init.via.dial({ host: init.host, port: init.port }, { signal });
    const usage = new UsageRef(sock);
    // The handshake is a dial in flight; afterwards each dial and channel holds the socket itself.
    const releaseHandshake = usage.hold();
    // ssh2 is CommonJS: use the default export (named-export detection is not reliable for it).
    const client = new ssh2.Client();
    const trace: AuthTrace = { serverMethods: [], triedMethods: [] };
    let refusal: SpokeError | undefined;
    return new Promise<PooledClient>((resolve, reject) => {
      let done = false;
      let detach = (): void => {};
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        detach();
        releaseHandshake();
        client.off('ready', onReady);
        client.off('error', onError);
        client.off('close', onClose);
        if (err === undefined) {
          resolve({ client, usage });
          return;
        }
        client.on('error', () => {});
        client.end();
        sock.destroy();
        reject(err);
      };
      const ctx = {
        hop: init.hop,
        serverMethods: trace.serverMethods,
        triedMethods: trace.triedMethods,
        readyTimeoutMs: init.readyTimeoutMs,
      };
      const onReady = (): void => finish();
      const onError = (err: Error): void => finish(mapClientError(refusal ?? err, ctx));
      const onClose = (): void =>
        finish(
          refusal ??
            new SpokeError(
              'ERR_TUNNEL_CLOSED',
              `The SSH server ${init.hop} closed the connection during the handshake. Check the server's logs (MaxStartups, AllowUsers).`,
              {
                hop: init.hop,
              },
            ),
        );
      client.on('ready', onReady);
      client.on('error', onError);
      client.on('close', onClose);
      try {
        client.connect({
          sock,
          username: init.username,
          hostVerifier: (key: Buffer) => {
            refusal = init.verifier.verify(key);
            return refusal === undefined;
          },
          authHandler: init.credentials.handler(init.username, trace),
          // Ours instead (keepalive.ts): ssh2's would hold the process open while the connection is idle.
          keepaliveInterval: 0,
          readyTimeout: init.readyTimeoutMs,
          algorithms: this.#algorithms(),
        });
      } catch (err) {
        finish(mapClientError(err, ctx));
      }
      // Last: a signal that aborted while the socket was being dialled ends the attempt here, at once.
      if (!done) detach = onAbort(signal, (reason) => finish(abortReasonToError(reason)));
    });
  }

  #algorithms(): Algorithms | undefined {
    const { algorithms, verifier } = this.#init;
    if (algorithms?.serverHostKey !== undefined || verifier.preferredAlgorithms.length === 0) return algorithms;
    // Like OpenSSH: ask first for the host key types we already know, so a server with several keys isn't taken for a changed one.
    const prefs = verifier.preferredAlgorithms.filter((a) => SSH2_HOST_KEY_ALGORITHMS.has(a)) as ServerHostKeyAlgorithm[];
    if (prefs.length === 0) return algorithms;
    // ssh2 applies `remove` then `prepend` (key order) and prepends one by one, hence the reverse.
    return { ...algorithms, serverHostKey: { remove: prefs, prepend: [...prefs].reverse(), append: [] } };
  }
}

// Host key algorithms ssh2 1.17 can verify (its SUPPORTED_SERVER_HOST_KEY is not exported).
const SSH2_HOST_KEY_ALGORITHMS = new Set([
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
  'ssh-dss',
]);

function endClient(client: Client): Promise<void> {
  return new Promise((resolve) => {
    const sock = (client as unknown as { _sock?: Duplex })._sock;
    if (!sock || sock.destroyed) {
      resolve();
      return;
    }
    sock.once('close', () => resolve());
    client.on('error', () => {});
    // An idle connection's socket is unreferenced; a caller awaiting close() must not see the process exit under it.
    (sock as Duplex & { ref?: () => void }).ref?.();
    client.end();
    // A server that never answers the disconnect must not hold close() forever.
    setTimeout(() => sock.destroy(), 2_000).unref();
  });
}
