import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** iproute2's `ip` (CI installs iproute2; the path is fixed so a PATH change cannot swap it). */
export const IP = '/usr/sbin/ip';

/** A network namespace joined to the host by one veth pair on a /30. */
export interface TestNetns {
  name: string;
  /** The host end's address (where host-side servers listen for the namespace). */
  hostIp: string;
  /** The namespace end's address. */
  nsIp: string;
  /** Spawns `argv` inside the namespace; the pid is the command's own (`ip netns exec` execs it). */
  spawn(argv: string[], options?: { env?: NodeJS.ProcessEnv }): ChildProcess;
  /** Stops every process spawned in it, deletes the namespace and the veth. Idempotent. */
  destroy(): Promise<void>;
}

/**
 * Refuses to run without what it needs, with a message saying what is
 * missing: a namespace test must fail, never skip, when it cannot run.
 * `programs` maps further executables the test needs to the Debian package
 * that provides them.
 */
export function requireNetnsPrivileges(programs: Record<string, string> = {}): void {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push(`root (running as uid ${String(process.getuid?.())}; CI runs this test as root)`);
  for (const [path, pkg] of Object.entries({ [IP]: 'iproute2', ...programs })) {
    if (!existsSync(path)) missing.push(`${path} (apt-get install ${pkg})`);
  }
  if (missing.length > 0) throw new Error(`The network-namespace test cannot run: missing ${missing.join(', ')}.`);
}

/** Waits for `pattern` on the child's stdout or stderr; rejects if it exits first or `timeoutMs` passes. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => finish(new Error(`${what}: no ${pattern} within ${timeoutMs} ms; output:\n${seen}`)), timeoutMs);
    const onData = (c: Buffer): void => {
      seen += c.toString();
      const m = pattern.exec(seen);
      if (m) finish(undefined, m[0]);
    };
    const onExit = (code: number | null): void => finish(new Error(`${what} exited (${String(code)}) before ${pattern}; output:\n${seen}`));
    const finish = (err?: Error, match?: string): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      // Keep draining so a chatty child never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
      if (err) reject(err);
      else resolve(match ?? '');
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

async function usedSubnets(): Promise<string> {
  return (await run(IP, ['-o', '-4', 'addr', 'show'])).stdout + (await run(IP, ['-4', 'route', 'show'])).stdout;
}

/**
 * Creates netns `spoke-t-<random>` and a veth pair: host `10.213.a.(b+1)/30`,
 * namespace `10.213.a.(b+2)/30`, loopback up in the namespace. The subnet is
 * random and checked against the host's addresses and routes, so parallel
 * runs do not clash. Fails with the `ip` error when the kernel refuses.
 */
export async function createNetns(): Promise<TestNetns> {
  const id = randomBytes(4).toString('hex');
  const name = `spoke-t-${id}`;
  const hostIf = `sph${id}`; // interface names are at most 15 bytes
  const nsIf = `spn${id}`;
  const used = await usedSubnets();
  const free = (a: number, b: number): boolean => [b, b + 1, b + 2].every((last) => !used.includes(`10.213.${a}.${last}/`));
  const pick = (tries: number): [number, number] => {
    const a = randomInt(256);
    const b = randomInt(64) * 4;
    if (free(a, b)) return [a, b];
    if (tries > 20) throw new Error('no free 10.213.x.y/30 subnet found for the test namespace');
    return pick(tries + 1);
  };
  const [a, b] = pick(0);
  const hostIp = `10.213.${a}.${b + 1}`;
  const nsIp = `10.213.${a}.${b + 2}`;
  const children = new Set<ChildProcess>();
  let created = false;
  let destroyed: Promise<void> | undefined;

  const destroy = (): Promise<void> =>
    (destroyed ??= (async () => {
      const exits = [...children].map(
        (c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))),
      );
      for (const c of children) c.kill('SIGTERM');
      const grace = setTimeout(() => {
        for (const c of children) c.kill('SIGKILL');
      }, 5_000);
      await Promise.all(exits);
      clearTimeout(grace);
      // Deleting the namespace deletes its veth end, and with it the host end; `link del` covers a half-made setup.
      if (created) await run(IP, ['netns', 'del', name]).catch(() => undefined);
      await run(IP, ['link', 'del', hostIf]).catch(() => undefined);
    })());

  try {
    await run(IP, ['netns', 'add', name]);
  } catch (err) {
    throw new Error(
      `\`ip netns add ${name}\` failed (the test needs root and network-namespace support): ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`,
      { cause: err },
    );
  }
  created = true;
  try {
    await run(IP, ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    await run(IP, ['link', 'set', nsIf, 'netns', name]);
    await run(IP, ['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
    await run(IP, ['link', 'set', hostIf, 'up']);
    await run(IP, ['-n', name, 'addr', 'add', `${nsIp}/30`, 'dev', nsIf]);
    await run(IP, ['-n', name, 'link', 'set', nsIf, 'up']);
    await run(IP, ['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    await destroy();
    throw new Error(
      `setting up the veth pair for ${name} failed: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`,
      { cause: err },
    );
  }

  return {
    name,
    hostIp,
    nsIp,
    spawn(argv, options = {}) {
      if (destroyed) throw new Error(`netns ${name} is already destroyed`);
      const child = spawn(IP, ['netns', 'exec', name, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    destroy,
  };
}

/** Whether `ip netns list` still shows `name`. */
export async function netnsExists(name: string): Promise<boolean> {
  const { stdout } = await run(IP, ['netns', 'list']);
  return stdout.split('\n').some((l) => l.split(' ')[0] === name);
}
