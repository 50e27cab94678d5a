import type { Duplex } from 'node:stream';
import type { Logger } from '@spoke/transport-core';
import type { TerminalSize } from './pty.js';
import { failureStatus, statusPayload, type CommandIo, type CommandStatus, type StreamRequest } from './remote-command.js';
import { SpdyServerSession, type SpdyStream } from './spdy/session.js';

/**
 * SPDY/3.1 protocols for exec/attach, most preferred first. A real kubelet
 * answers v4 at most; client-go speaks v5 over SPDY exactly as v4 (stdin's
 * close signal is the stdin stream's FIN in both), so v5 costs nothing.
 */
export const REMOTE_COMMAND_SPDY_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io'] as const;

/** The kubelet's default wait for the client to open its streams (`DefaultStreamCreationTimeout`). */
export const DEFAULT_STREAM_CREATION_TIMEOUT_MS = 30_000;

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';

/** The stream types a request needs, in the order client-go opens them. */
export function expectedStreams(req: StreamRequest, version: number): StreamType[] {
  const types: StreamType[] = ['error'];
  if (req.stdin) types.push('stdin');
  if (req.stdout) types.push('stdout');
  if (req.stderr) types.push('stderr');
  // Terminal resizing arrived with v3.
  if (req.tty && version >= 3) types.push('resize');
  return types;
}

function protocolVersion(protocol: string): number {
  return Number(/^v(\d)\./.exec(protocol)?.[1] ?? 1);
}

export interface SpdyCommandOptions {
  /** How long to wait for the client's streams. */
  streamCreationTimeoutMs: number;
  logger: Logger;
}

/**
 * Exec/attach over SPDY/3.1, as the kubelet serves kube-apiserver: once the
 * 101 is sent, the client opens one stream per channel, each named by its
 * `streamType` header. When every expected stream is open, `start` runs the
 * command; if they are not all open in time, the error stream (if any) gets
 * a Failure status naming what is missing and the connection closes.
 */
export function serveRemoteCommandSpdy(
  conn: Duplex,
  protocol: string,
  req: StreamRequest,
  options: SpdyCommandOptions,
  start: (io: CommandIo) => void,
): SpdyServerSession {
  const version = protocolVersion(protocol);
  const wanted = expectedStreams(req, version);
  const streams = new Map<StreamType, SpdyStream>();
  const closedHandlers: Array<() => void> = [];
  // Set once the command started or the wait timed out: later streams are refused.
  let settled = false;

  const session = new SpdyServerSession(conn, {
    onStream(stream) {
      const type = stream.headers.get('streamtype') as StreamType | undefined;
      if (settled || !type || !wanted.includes(type) || streams.has(type)) {
        options.logger.debug('refused an exec/attach stream', { streamType: type ?? '(none)' });
        return false;
      }
      stream.on('error', () => {
        // Resets are how clients detach; the session's close does the cleanup.
      });
      streams.set(type, stream);
      if (streams.size === wanted.length) {
        settled = true;
        clearTimeout(timer);
        // Answer the last SYN_STREAM before any output can follow it.
        queueMicrotask(() => start(commandIo()));
      }
      return true;
    },
    onClose() {
      clearTimeout(timer);
      for (const handler of closedHandlers) handler();
    },
  });

  /** Writes `status` on the error stream (if open), ends it, then closes the connection. */
  const closeWithStatus = (status: CommandStatus): void => {
    const error = streams.get('error');
    if (!error) return session.close();
    const payload = statusPayload(version, status);
    if (payload) error.write(payload);
    error.end(() => session.close());
  };

  const timer = setTimeout(() => {
    settled = true;
    const missing = wanted.filter((t) => !streams.has(t));
    const message =
      `timed out after ${options.streamCreationTimeoutMs} ms waiting for the client to create streams: ` +
      `missing ${missing.join(', ')} (query asked for ${wanted.join(', ')})`;
    options.logger.warn('exec/attach streams not created in time', { missing: missing.join(',') });
    closeWithStatus(failureStatus(message, 'Timeout'));
  }, options.streamCreationTimeoutMs);

  function commandIo(): CommandIo {
    const resizeHandlers: Array<(size: TerminalSize) => void> = [];
    const resize = streams.get('resize');
    if (resize) readJsonLines(resize, (size: TerminalSize) => resizeHandlers.forEach((h) => h(size)));
    const stdin = streams.get('stdin');
    return {
      stdin,
      stdout: streams.get('stdout'),
      stderr: streams.get('stderr'),
      killOnClientGone: true,
      onResize: (handler) => void resizeHandlers.push(handler),
      onClosed: (handler) => void closedHandlers.push(handler),
      finish(status) {
        // Like the kubelet: output streams end, then the status, then the connection.
        streams.get('stdout')?.end();
        streams.get('stderr')?.end();
        resize?.end();
        // The client waits for its stdin stream to be closed by us too.
        stdin?.end();
        closeWithStatus(status);
      },
    };
  }
  return session;
}

/** Calls `handler` for each newline-separated JSON value (client-go's json.Encoder output). */
function readJsonLines<T>(stream: SpdyStream, handler: (value: T) => void): void {
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    // Bounded: a terminal size is a few dozen bytes.
    if (pending.length > 64 * 1024) pending = '';
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (!line) continue;
      try {
        handler(JSON.parse(line) as T);
      } catch {
        // A malformed size changes nothing, as in the kubelet.
      }
    }
  });
}
