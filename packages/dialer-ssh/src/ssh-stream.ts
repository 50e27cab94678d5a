import { Duplex } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { SpokeError, formatTarget, type Target } from '@spoke/transport-core';
import { type UsageRef } from '@spoke/transport-core/utils';

/** ssh2 keeps the per-direction channel state in these (untyped) fields. */
interface ChannelState {
  incoming: { state: string };
}

/**
 * A forwarded SSH channel shaped like a `net.Socket`.
 *
 * ssh2's own channel object is close, but not close enough: its `destroy()`
 * only asks the server to close (no `'close'` until the server answers, no
 * error), and a connection that dies mid-stream ends its channels as if the
 * far side had finished cleanly. This wrapper gives `end()` = SSH EOF
 * (half-close), `destroy(err)` = immediate CHANNEL_CLOSE, backpressure through
 * `write()`/`'drain'` on top of the SSH window, and coded errors when the
 * channel or the connection under it breaks. Like a socket, an open stream
 * keeps the process alive (its SSH connection's socket referenced) until it
 * closes or `unref()` is called.
 */
export class SshStream extends Duplex {
  /** Address of the target as the SSH server dialled it. */
  readonly remoteAddress: string | undefined;
  /** Port of the target, for TCP targets. */
  readonly remotePort: number | undefined;
  /** The SSH hop that carries this stream, `ssh://user@host:port`. */
  readonly hop: string;
  readonly #channel: ClientChannel;
  readonly #target: Target;
  readonly #usage: UsageRef | undefined;
  #release: (() => void) | undefined;
  #remoteClosed = false;

  /** `usage`: the connection's reference, held while this stream is open and referenced. */
  constructor(channel: ClientChannel, target: Target, hop: string, usage?: UsageRef) {
    // The channel buffers up to the SSH window (2 MiB) itself; keep ours small so memory stays bounded.
    super({ allowHalfOpen: true, highWaterMark: 64 * 1024 });
    this.#channel = channel;
    this.#target = target;
    this.hop = hop;
    this.#usage = usage;
    this.ref();
    this.once('close', () => this.unref());
    if (!('path' in target)) {
      this.remoteAddress = target.host;
      this.remotePort = target.port;
    }
    channel.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) channel.pause();
    });
    channel.on('end', () => {
      // EOF and CLOSE both end ssh2's readable side; only a real EOF is a clean half-close.
      if ((channel as unknown as ChannelState).incoming.state === 'eof') this.#endReadable();
    });
    channel.on('close', () => {
      this.#remoteClosed = true;
      if (this.destroyed) return;
      if (!this.writableEnded) {
        // The server closed the channel while we could still write: the far end went away.
        this.destroy(
          new SpokeError(
            'ERR_STREAM_RESET',
            `The stream to ${formatTarget(target)} was closed by the far side (through ${hop}) before we finished writing.`,
            { target, hop },
          ),
        );
      } else {
        this.#endReadable();
      }
    });
    channel.on('error', (err: Error) => this.destroy(err));
  }

  /**
   * Fails the stream because the SSH connection carrying it ended. Called by
   * the connection before ssh2 tears its channels down (which would look like
   * a clean end-of-stream).
   */
  connectionLost(cause?: Error): void {
    if (this.destroyed || (this.readableEnded && this.writableFinished)) return;
    this.destroy(
      new SpokeError(
        'ERR_TUNNEL_CLOSED',
        `The SSH connection ${this.hop} carrying the stream to ${formatTarget(this.#target)} was lost. Dial again; the connection is re-established.`,
        {
          cause,
          target: this.#target,
          hop: this.hop,
        },
      ),
    );
  }

  #endReadable(): void {
    this.push(null);
    // Like net.Socket: with nothing buffered, 'end' is due now even if nobody is reading.
    if (this.readableLength === 0) this.read(0);
  }

  override _read(): void {
    this.#channel.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#channel.write(chunk)) callback();
    else this.#waitDrain(callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    let ok = true;
    for (const { chunk } of chunks) ok = this.#channel.write(chunk);
    if (ok) callback();
    else this.#waitDrain(callback);
  }

  #waitDrain(callback: (error?: Error | null) => void): void {
    const done = (): void => {
      this.#channel.off('drain', done);
      this.off('close', done);
      callback();
    };
    this.#channel.on('drain', done);
    this.once('close', done);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // ssh2 holds what the SSH window does not let out yet, and sends SSH_MSG_CHANNEL_EOF after it. Our
    // side is finished only once ssh2's is: finishing earlier would let a stream whose far side is
    // already done close (CHANNEL_CLOSE) with the upload's tail still queued, and drop it.
    const channel = this.#channel;
    const settle = (err?: Error): void => {
      channel.off('finish', onFinish);
      channel.off('close', onClose);
      callback(err);
    };
    const onFinish = (): void => settle();
    const onClose = (): void =>
      settle(
        new SpokeError(
          'ERR_STREAM_RESET',
          `The stream to ${formatTarget(this.#target)} was closed by the far side (through ${this.hop}) before everything we wrote was sent.`,
          { target: this.#target, hop: this.hop },
        ),
      );
    channel.once('finish', onFinish);
    channel.once('close', onClose);
    channel.end();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#remoteClosed) {
      // Send CHANNEL_CLOSE now; pending data in the SSH window is dropped, like a TCP reset.
      (this.#channel as unknown as { close(): void }).close();
    }
    this.#channel.removeAllListeners('data');
    this.#channel.on('error', () => {});
    callback(err === null || err === undefined ? err : SpokeError.from(err, { target: this.#target, hop: this.hop }));
  }

  /** No-op (socket compatibility): SSH channels have no Nagle setting of their own. */
  setNoDelay(): this {
    return this;
  }

  /** No-op (socket compatibility): liveness comes from SSH keepalives on the connection. */
  setKeepAlive(): this {
    return this;
  }

  /** No-op (socket compatibility). */
  setTimeout(): this {
    return this;
  }

  /**
   * Lets this open stream keep the process alive again (the default), as
   * `net.Socket#ref()` does. A stream used as another SSH dialer's `via`
   * socket is unreferenced while that connection sits idle.
   */
  ref(): this {
    if (!this.#release && !this.destroyed) this.#release = this.#usage?.hold();
    return this;
  }

  /** Stops this stream from keeping the process alive (`net.Socket#unref()`); an HTTP agent does so for its idle pooled sockets. */
  unref(): this {
    this.#release?.();
    this.#release = undefined;
    return this;
  }
}
