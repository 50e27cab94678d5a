import { spawn } from 'node:child_process';
import type { Logger } from '@spoke/transport-core';
import { Channel, type ChannelSocket } from './channels.js';
import type { Container } from './runtime.js';

/** The streams a remote command asked for (kubelet query `input`, `output`, `error`, `tty`). */
export interface StreamRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Reads the kubelet's query names, accepting the apiserver's too. */
export function parseStreamRequest(query: URLSearchParams): StreamRequest {
  const flag = (...names: string[]): boolean => names.some((n) => ['1', 'true', 'True'].includes(query.get(n) ?? ''));
  return { stdin: flag('input', 'stdin'), stdout: flag('output', 'stdout'), stderr: flag('error', 'stderr'), tty: flag('tty') };
}

/** The v4+ status document for the error channel. */
export function exitStatus(code: number, command: string[]): Record<string, unknown> {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** Writes the final status and closes the socket normally. */
function finish(socket: ChannelSocket, code: number, command: string[], why?: string): void {
  if (socket.version >= 4) socket.send(Channel.ERROR, Buffer.from(JSON.stringify(exitStatus(code, command))));
  else if (code !== 0) socket.send(Channel.ERROR, Buffer.from(why ?? `command exited with code ${code}`));
  socket.ws.close(1000);
}

/** v5: an empty message on the lowest writable channel tells the client the streams are ready. */
function announceReady(socket: ChannelSocket, req: StreamRequest): void {
  if (socket.version < 5) return;
  socket.send(req.stdout ? Channel.STDOUT : req.stderr ? Channel.STDERR : Channel.ERROR, Buffer.alloc(0));
}

/**
 * Runs `command` for `kubectl exec`: stdin from channel 0 (v5 CLOSE `[255, 0]`
 * ends it), stdout/stderr to channels 1/2 (merged into 1 with tty, since this
 * node has no pseudo-terminals), and the exit code as a Status on channel 3.
 * A client that goes away kills the process.
 */
export function runExec(socket: ChannelSocket, container: Container, command: string[], req: StreamRequest, logger: Logger): void {
  const [file, ...args] = command;
  if (!file) {
    finish(socket, 126, command, 'no command given');
    return;
  }
  const proc = spawn(file, args, {
    cwd: container.config.workingDir ?? process.cwd(),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', ...container.config.env },
    stdio: [req.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let done = false;
  proc.stdout?.on('data', (chunk: Buffer) => req.stdout && socket.send(Channel.STDOUT, chunk));
  proc.stderr?.on('data', (chunk: Buffer) => {
    if (req.tty && req.stdout) socket.send(Channel.STDOUT, chunk);
    else if (req.stderr) socket.send(Channel.STDERR, chunk);
  });
  proc.stdin?.on('error', () => {
    // The process may exit before reading all its input; that is not our failure.
  });
  proc.on('error', (err) => {
    if (done) return;
    done = true;
    // What a shell reports for a command it cannot find or run.
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 127 : 126;
    if (req.stderr || req.tty) socket.send(req.tty ? Channel.STDOUT : Channel.STDERR, Buffer.from(`exec: ${file}: ${err.message}\n`));
    finish(socket, code, command);
  });
  proc.on('close', (code, signal) => {
    if (done) return;
    done = true;
    logger.debug('exec finished', { command: command.join(' '), code: code ?? undefined, signal: signal ?? undefined });
    finish(socket, code ?? 128 + 9, command);
  });
  socket.onMessage((channel, payload) => {
    if (channel === Channel.STDIN && payload.length > 0) proc.stdin?.write(payload);
    else if (channel === Channel.CLOSE && payload[0] === Channel.STDIN) proc.stdin?.end();
    // Resize has no meaning without a terminal.
  });
  socket.ws.on('close', () => {
    // Without v5 CLOSE, the socket closing is the only end-of-input signal.
    proc.stdin?.end();
    if (!done && socket.version >= 5) proc.kill('SIGKILL');
  });
  announceReady(socket, req);
}

/**
 * `kubectl attach`: new output of the container's `command` process, and
 * its stdin when the container keeps it open. Detaching leaves it running.
 */
export function runAttach(socket: ChannelSocket, container: Container, req: StreamRequest): void {
  const proc = container.process;
  if (!proc || container.exitCode !== null) {
    finish(socket, 1, [], 'the container has no running process to attach to');
    return;
  }
  const onOut = (chunk: Buffer): void => {
    if (req.stdout) socket.send(Channel.STDOUT, chunk);
  };
  const onErr = (chunk: Buffer): void => {
    if (req.tty && req.stdout) socket.send(Channel.STDOUT, chunk);
    else if (req.stderr) socket.send(Channel.STDERR, chunk);
  };
  const onExit = (code: number | null): void => finish(socket, code ?? 1, container.config.command ?? []);
  proc.stdout?.on('data', onOut);
  proc.stderr?.on('data', onErr);
  proc.once('close', onExit);
  socket.onMessage((channel, payload) => {
    if (channel === Channel.STDIN && req.stdin && container.config.stdin) proc.stdin?.write(payload);
  });
  socket.ws.on('close', () => {
    proc.stdout?.off('data', onOut);
    proc.stderr?.off('data', onErr);
    proc.off('close', onExit);
  });
  announceReady(socket, req);
}
