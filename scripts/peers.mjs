#!/usr/bin/env node
// The programs the tests run as real peers: OpenSSH (sshd, ssh, ssh-keygen), protoc
// (generated-code check), curl and openssl (clients), iproute2 (network namespaces), etcd (for the real kube-apiserver), Go
// (the upstream Konnectivity binaries) and kubectl; for deploy/, systemd-analyze (unit checks), and podman, runc and
// debootstrap (the image is built from a Debian base, no registry needed). Present: nothing to do. Missing: as
// root with apt-get, installs the Debian packages; otherwise stops at once and prints the
// command to run. Used by `npm test` (first step) and `.ci/run`.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Each tool, and the Debian package that provides it (undefined: comes with the machine). */
const TOOLS = [
  ['/usr/sbin/sshd', 'openssh-server'],
  ['ssh', 'openssh-client'],
  ['ssh-keygen', 'openssh-client'],
  ['protoc', 'protobuf-compiler'],
  ['curl', 'curl'],
  ['openssl', 'openssl'],
  ['ip', 'iproute2'],
  ['go', undefined],
  ['kubectl', undefined],
  ['etcd', 'etcd-server'],
  ['systemd-analyze', 'systemd'],
  ['podman', 'podman'],
  // crun refuses the hybrid cgroup layout of this machine kind; deploy's image test runs podman with runc.
  ['/usr/sbin/runc', 'runc'],
  ['/usr/sbin/debootstrap', 'debootstrap'],
];

function found(tool) {
  const candidates = tool.includes('/') ? [tool] : (process.env.PATH ?? '').split(delimiter).map((d) => join(d, tool));
  return candidates.some((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const missing = () => TOOLS.filter(([tool]) => !found(tool));
let absent = missing();
const packages = [...new Set(absent.map(([, pkg]) => pkg).filter(Boolean))];
if (packages.length > 0) {
  const canInstall = process.getuid?.() === 0 && found('apt-get');
  if (!canInstall) {
    console.error(
      `peers: missing ${absent.map(([t]) => t).join(', ')}. Install them first:\n  sudo apt-get update && sudo apt-get install -y ${packages.join(' ')}`,
    );
    process.exit(1);
  }
  console.log(`peers: installing ${packages.join(' ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', ...packages],
  ]) {
    const r = spawnSync('apt-get', args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) {
      console.error(`peers: apt-get ${args.join(' ')} failed (exit ${r.status ?? r.error?.message}).`);
      process.exit(1);
    }
  }
  absent = missing();
}
if (absent.length > 0) {
  console.error(
    `peers: still missing ${absent.map(([t]) => t).join(', ')} (Go and kubectl come with this machine kind; install them from their vendors).`,
  );
  process.exit(1);
}
console.log(`peers: ${TOOLS.map(([t]) => t.replace(/.*\//, '')).join(', ')} present`);
