import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBaseImage } from '../tools/base-image.mjs';

// deploy/Containerfile built with podman and run as the chart runs it. No registry is reachable here, so BASE is
// node:20-slim's stand-in made from Debian's packages (deploy/tools/base-image.mjs, cached in podman's store).
const repo = join(import.meta.dirname, '..', '..');
const cliVersion = (JSON.parse(readFileSync(join(repo, 'packages', 'cli', 'package.json'), 'utf8')) as { version: string }).version;
const tag = `localhost/spoke-deploy-test:${process.pid}-${randomBytes(3).toString('hex')}`;
// This machine kind: crun refuses its hybrid cgroup layout, and the sandbox lets no process raise an rlimit, which
// podman's defaults would; runc with limits under the current ones works. Elsewhere podman's defaults do.
const RUNTIME = existsSync('/usr/sbin/runc') ? ['--runtime', 'runc'] : [];
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
// As the chart's securityContext: read-only root, no capabilities, no new privileges, uid 65532.
const HARDENED = ['--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--user', '65532:65532'];

function podman(args: readonly string[], timeout = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('podman', args, { encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const run = (args: readonly string[]) => podman(['run', '--rm', ...RUNTIME, ...ULIMITS, ...HARDENED, ...args]);

afterAll(() => {
  podman(['rmi', '--force', '--ignore', tag]);
});

describe('the image (deploy/Containerfile)', () => {
  it('builds with podman from the repository', { timeout: 10 * 60_000 }, () => {
    const { image } = ensureBaseImage();
    // Behind a TLS-intercepting egress proxy npm needs its CA: the build takes it as a secret, never as a layer.
    const ca = process.env.NODE_EXTRA_CA_CERTS;
    const secret = ca && existsSync(ca) ? ['--secret', `id=extra-ca,src=${ca}`] : [];
    const started = Date.now();
    const r = podman(
      [
        'build',
        ...RUNTIME,
        ...ULIMITS,
        ...secret,
        '--layers=false',
        '--build-arg',
        `BASE=${image}`,
        '-f',
        'deploy/Containerfile',
        '-t',
        tag,
        repo,
      ],
      9 * 60_000,
    );
    // The context is the working tree: a build step's own output (tsc's errors, say) is on stdout.
    expect(r.status, `podman build exit ${r.status}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`).toBe(0);
    console.log(`[deploy] podman build took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  });

  it('runs spoke as uid 65532 by default, with only production dependencies', () => {
    const config = JSON.parse(podman(['image', 'inspect', tag]).stdout) as Array<{ Config: { User: string; Entrypoint: string[] } }>;
    expect(config[0]?.Config).toMatchObject({ User: '65532:65532', Entrypoint: ['spoke'] });
    const version = run([tag, '--version']);
    expect(version.stdout.trim()).toBe(`spoke ${cliVersion}`);
    expect(version.status).toBe(0);
    const deps = run(['--entrypoint', 'sh', tag, '-c', 'id -u; ls /opt/spoke/node_modules; ls /opt/spoke/node_modules/@spoke']);
    const [uid, ...names] = deps.stdout.trim().split('\n');
    expect(uid).toBe('65532');
    for (const dev of ['typescript', 'vitest', 'nx', 'eslint']) expect(names).not.toContain(dev);
    expect(names).toEqual(expect.arrayContaining(['ws', 'ssh2', 'cli', 'hub', 'transport-core']));
  });

  it('spoke hub starts on a read-only root filesystem with no capabilities', { timeout: 60_000 }, async () => {
    const name = `spoke-deploy-test-${process.pid}-${randomBytes(3).toString('hex')}`;
    const child = spawn('podman', [
      'run',
      '--rm',
      '--name',
      name,
      ...RUNTIME,
      ...ULIMITS,
      ...HARDENED,
      tag,
      'hub',
      '--listen',
      '127.0.0.1:0',
      '--metrics',
      '127.0.0.1:0',
    ]);
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0] as string);
        });
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', (code) => reject(new Error(`podman run exited ${code} before the hub listened: ${err}`)));
      });
      expect(line).toMatch(/^spoke hub listening: wss:\/\/127\.0\.0\.1:\d+ fingerprint=sha256:[0-9a-f]{64} /);
    } finally {
      const exited =
        child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve));
      podman(['stop', '--time', '10', '--ignore', name]);
      await exited;
    }
  });
});
