import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '@spoke/transport-core';
import { ptyAvailable, spawnPty, type PtyProcess, type TerminalSize } from './pty.js';
import { processOptions, type Container } from './runtime.js';

/** The streams a remote command asked for (kubelet query `input`, `output`, `error`, `tty`). */
export interface StreamRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/**
 * Reads the kubelet's query names, accepting the apiserver's too. As the
 * kubelet does, a terminal has no separate stderr, and at least one of
 * stdin, stdout, stderr is required (else a message for the 400 answer).
 */
export function parseStreamRequest(query: URLSearchParams): StreamRequest | string {
  const flag = (...names: string[]): boolean => names.some((n) => ['1', 'true', 'True'].includes(query.get(n) ?? ''));
  const tty = flag('tty');
  const req = { stdin: flag('input', 'stdin'), stdout: flag('output', 'stdout'), stderr: flag('error', 'stderr') && !tty, tty };
  if (!req.stdin && !req.stdout && !req.stderr) return 'you must specify at least 1 of stdin, stdout, stderr';
  return req;
}

/** A `metav1.Status` as the error stream carries it. */
export interface CommandStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: Array<{ reason: string; message: string }> };
}

/** The v4+ status document for the error channel. */
export function exitStatus(code: number, command: string[]): CommandStatus {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** A failure that is not an exit code (the kubelet's InternalError shape). */
export function failureStatus(message: string, reason = 'InternalError'): CommandStatus {
  return { metadata: {}, status: 'Failure', message, reason };
}

/**
 * The error stream's bytes for a status: v4+ the JSON `Status`; v1–v3 only
 * a failure's message as text (success is an empty error stream).
 */
export function statusPayload(version: number, status: CommandStatus): Buffer | undefined {
  if (version >= 4) return Buffer.from(JSON.stringify(status));
  return status.status === 'Success' ? undefined : Buffer.from(status.message ?? 'unknown error');
}

/**
 * One exec/attach session as its transport (WebSocket channels or SPDY
 * streams) delivers it: the streams the client asked for, terminal sizes,
 * and the way to report the end.
 */
export interface CommandIo {
  /** Client input; its end is the client's close signal. Absent unless stdin was asked for. */
  readonly stdin: Readable | undefined;
  readonly stdout: Writable | undefined;
  readonly stderr: Writable | undefined;
  /** Whether the client going away should kill an exec'd process (v4 WebSockets have no other end-of-input). */
  readonly killOnClientGone: boolean;
  /** Terminal sizes, in the order the client sent them. */
  onResize(handler: (size: TerminalSize) => void): void;
  /** The session ended: the client went away, or the transport closed after {@link finish}. */
  onClosed(handler: () => void): void;
  /** Ends stdout/stderr, writes the status on the error stream, closes the session. */
  finish(status: CommandStatus): void;
}

/** Spawns the command: on a pseudo-terminal for `tty` when the machine has one, else on pipes. */
function start(command: string[], container: Container, req: StreamRequest, logger: Logger): { proc: ChildProcess; pty?: PtyProcess } {
  if (req.tty && ptyAvailable()) {
    const pty = spawnPty(command, processOptions(container.config));
    return { proc: pty.process, pty };
  }
  if (req.tty) logger.debug('no pseudo-terminal helper (python3); running the tty command on pipes');
  const [file, ...args] = command;
  const proc = spawn(file as string, args, { ...processOptions(container.config), stdio: [req.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  return { proc };
}

/**
 * Runs `command` for `kubectl exec`: stdin from the client until its close
 * signal, stdout/stderr to the client (one terminal stream with `tty`), and
 * the exit code as the final status. A client that goes away kills the process.
 */
export function runExec(io: CommandIo, container: Container, command: string[], req: StreamRequest, logger: Logger): void {
  if (!command[0]) {
    io.finish(failureStatus('no command given: pass command= at least once', 'BadRequest'));
    return;
  }
  const { proc, pty } = start(command, container, req, logger);
  let done = false;
  // With a terminal, stderr shares stdout (the pty merges them; on pipes, we do).
  const errOut = req.tty ? io.stdout : io.stderr;
  if (io.stdout) proc.stdout?.pipe(io.stdout, { end: false });
  else proc.stdout?.resume();
  if (errOut) proc.stderr?.pipe(errOut, { end: false });
  else proc.stderr?.resume();
  proc.stdin?.on('error', () => {
    // The process may exit before reading all its input; that is not our failure.
  });
  if (io.stdin) {
    io.stdin.on('data', (chunk: Buffer) => (pty ? pty.write(chunk) : proc.stdin?.write(chunk)));
    io.stdin.once('end', () => (pty ? pty.endInput() : proc.stdin?.end()));
  }
  io.onResize((size) => pty?.resize(size));
  proc.on('error', (err) => {
    if (done) return;
    done = true;
    // What a shell reports for a command it cannot find or run.
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 127 : 126;
    errOut?.write(Buffer.from(`exec: ${command[0]}: ${err.message}\n`));
    io.finish(exitStatus(code, command));
  });
  proc.on('close', (code, signal) => {
    if (done) return;
    done = true;
    logger.debug('exec finished', { command: command.join(' '), code: code ?? undefined, signal: signal ?? undefined });
    io.finish(exitStatus(code ?? 128 + 9, command));
  });
  io.onClosed(() => {
    proc.stdin?.end();
    if (!done && io.killOnClientGone) proc.kill('SIGKILL');
  });
}

/**
 * `kubectl attach`: new output of the container's `command` process, and
 * its stdin when the container keeps it open. Detaching leaves it running.
 */
export function runAttach(io: CommandIo, container: Container, req: StreamRequest): void {
  const proc = container.process;
  if (!proc || container.exitCode !== null) {
    io.finish(failureStatus('the container has no running process to attach to'));
    return;
  }
  const errOut = req.tty ? io.stdout : io.stderr;
  const onOut = (chunk: Buffer): void => void io.stdout?.write(chunk);
  const onErr = (chunk: Buffer): void => void errOut?.write(chunk);
  const onExit = (code: number | null): void => io.finish(exitStatus(code ?? 1, container.config.command ?? []));
  proc.stdout?.on('data', onOut);
  proc.stderr?.on('data', onErr);
  proc.once('close', onExit);
  io.stdin?.on('data', (chunk: Buffer) => {
    if (!container.config.stdin) return;
    if (container.pty) container.pty.write(chunk);
    else proc.stdin?.write(chunk);
  });
  // Only a container started on a terminal (`tty`) has something to resize.
  io.onResize((size) => container.pty?.resize(size));
  io.onClosed(() => {
    proc.stdout?.off('data', onOut);
    proc.stderr?.off('data', onErr);
    proc.off('close', onExit);
  });
}
