import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** A terminal size as remotecommand sends it (`{"Width":..,"Height":..}`). */
export interface TerminalSize {
  Width: number;
  Height: number;
}

/**
 * Node has no pseudo-terminal API without a native addon, so `tty=1` commands
 * run under this small Python helper (standard library only): it forks the
 * command on a pty and copies bytes. Its stdin carries frames, so input and
 * resizes reach the terminal in the order the client sent them:
 * `[kind u8][length u32 BE][payload]`, kind 0 input, 1 size (`u16 width,
 * u16 height`), 2 end of input (typed as the terminal's EOF character).
 * It exits with the command's exit code (128 + signal when killed).
 */
const HELPER = String.raw`
import errno, fcntl, os, pty, select, struct, sys, termios
argv = sys.argv[1:]
pid, master = pty.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        os.write(2, ("exec: %s: %s\r\n" % (argv[0], e.strerror)).encode())
        os._exit(127 if e.errno == errno.ENOENT else 126)
def put(fd, data):
    while data:
        data = data[os.write(fd, data):]
# Input for the terminal waits in "typed" while the command is not reading, so output keeps
# flowing; we stop reading our stdin (and so push back on the node) once it is large.
os.set_blocking(master, False)
buf, typed, reading = b"", b"", True
while True:
    want_in = reading and len(typed) < 65536
    ready, writable, _ = select.select([master] + ([0] if want_in else []), [master] if typed else [], [])
    if master in writable:
        try:
            typed = typed[os.write(master, typed):]
        except BlockingIOError:
            pass
    if master in ready:
        try:
            out = os.read(master, 65536)
        except BlockingIOError:
            continue
        except OSError:
            out = b""
        if not out:
            break
        put(1, out)
    if 0 in ready:
        chunk = os.read(0, 65536)
        if not chunk:
            reading = False
        buf += chunk
        while len(buf) >= 5 and len(buf) >= 5 + int.from_bytes(buf[1:5], "big"):
            kind, n = buf[0], int.from_bytes(buf[1:5], "big")
            payload, buf = buf[5:5 + n], buf[5 + n:]
            if kind == 0:
                typed += payload
            elif kind == 1:
                w, h = struct.unpack(">HH", payload)
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", h, w, 0, 0))
            elif kind == 2:
                typed += b"\x04"
status = os.waitpid(pid, 0)[1]
code = os.waitstatus_to_exitcode(status)
sys.exit(128 - code if code < 0 else code)
`;

const PYTHON = 'python3';
let available: boolean | undefined;

/** Whether this machine can run commands on a pseudo-terminal (checked once). */
export function ptyAvailable(): boolean {
  available ??= spawnSync(PYTHON, ['-c', 'import pty, fcntl, termios'], { stdio: 'ignore', timeout: 5_000 }).status === 0;
  return available;
}

function frame(kind: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = kind;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** A command on a pseudo-terminal: stdout carries the terminal's output (stdout and stderr together). */
export interface PtyProcess {
  readonly process: ChildProcess;
  write(data: Buffer): void;
  resize(size: TerminalSize): void;
  /** End of input: the terminal's EOF character, as a user typing ^D. */
  endInput(): void;
}

/** Spawns `command` on a pseudo-terminal through the helper. */
export function spawnPty(command: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): PtyProcess {
  const proc = spawn(PYTHON, ['-c', HELPER, ...command], { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
  const send = (kind: number, payload: Buffer): void => {
    if (proc.stdin?.writable) proc.stdin.write(frame(kind, payload));
  };
  return {
    process: proc,
    write: (data) => send(0, data),
    resize(size) {
      const payload = Buffer.alloc(4);
      payload.writeUInt16BE(clampU16(size.Width), 0);
      payload.writeUInt16BE(clampU16(size.Height), 2);
      send(1, payload);
    },
    endInput: () => send(2, Buffer.alloc(0)),
  };
}

function clampU16(n: number): number {
  return Number.isInteger(n) ? Math.min(Math.max(n, 0), 0xffff) : 0;
}
