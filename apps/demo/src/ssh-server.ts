import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { SSHD_PATH, generateSshKeyPair, startSshd, type SshKeyPair } from '@spoke/dialer-ssh/testing';
import ssh2, { type Connection, type ServerChannel } from 'ssh2';
import type { Teardown } from './teardown.js';

const { Server, utils } = ssh2;

/** An SSH server on 127.0.0.1 that lets the demo's key open `direct-tcpip` channels to one kubelet port. */
export interface DemoSshServer {
  /** `OpenSSH sshd` or `embedded ssh2 server`, for the table. */
  kind: string;
  port: number;
  username: string;
  /** The client private key (OpenSSH format) the server accepts. */
  clientKey: string;
  /** The host key's `SHA256:<base64>` fingerprint, pinned by the dialer. */
  hostKey: string;
}

function fingerprint(publicKey: string): string {
  const parsed = utils.parseKey(publicKey);
  if (parsed instanceof Error) throw parsed;
  return `SHA256:${createHash('sha256').update(parsed.getPublicSSH()).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The real OpenSSH daemon when it is installed, else an ssh2 server in this
 * process (`mode` forces one). `verify` must reach the kubelet through the
 * server: an sshd that does not start or does not let us in (no privilege
 * separation directory, a locked account, a refused shell...) is stopped and
 * replaced by the embedded server, with a note saying why.
 */
export async function startSshServer(options: {
  dir: string;
  teardown: Teardown;
  mode: 'auto' | 'sshd' | 'embedded';
  kubeletPort: number;
  verify: (server: DemoSshServer) => Promise<void>;
  note: (line: string) => void;
}): Promise<DemoSshServer> {
  const { dir, teardown, mode, kubeletPort, verify, note } = options;
  const hostKey = generateSshKeyPair();
  const client = generateSshKeyPair();
  if (mode !== 'embedded' && existsSync(SSHD_PATH)) {
    try {
      const sshd = await startOpenSshd(dir, teardown, kubeletPort, hostKey, client);
      try {
        await verify(sshd.server);
        return sshd.server;
      } catch (err) {
        const said = sshd
          .log()
          .trim()
          .split('\n')
          .filter((l) => !/^(Server listening|Received signal)/.test(l))
          .pop();
        await sshd.stop();
        throw new Error(`${(err as Error).message}${said ? ` (sshd: ${said})` : ''}`, { cause: err });
      }
    } catch (err) {
      if (mode === 'sshd') throw err;
      note(`OpenSSH sshd is not usable here (${(err as Error).message.split('\n')[0]}); using the embedded ssh2 server.`);
    }
  } else if (mode === 'sshd') {
    throw new Error(`${SSHD_PATH} is not installed (apt-get install openssh-server), or run without --ssh=sshd`);
  }
  const embedded = await startEmbeddedSshServer(teardown, kubeletPort, hostKey, client);
  await verify(embedded);
  return embedded;
}

interface RunningSshd {
  server: DemoSshServer;
  /** The tail of sshd's stderr (why it refused us, when it did). */
  log(): string;
  stop(): Promise<void>;
}

async function startOpenSshd(
  dir: string,
  teardown: Teardown,
  kubeletPort: number,
  hostKey: SshKeyPair,
  client: SshKeyPair,
): Promise<RunningSshd> {
  const hostKeyFile = join(dir, 'ssh_host_ed25519_key');
  writeFileSync(hostKeyFile, hostKey.private, { mode: 0o600 });
  writeFileSync(`${hostKeyFile}.pub`, `${hostKey.public}\n`);
  const clientPublicFile = join(dir, 'demo_client.pub');
  writeFileSync(clientPublicFile, `${client.public}\n`);
  const sshd = await startSshd({
    dir,
    hostKeyFile,
    authorize: [clientPublicFile],
    // Only the kubelet may be reached: sshd refuses every other target ("administratively prohibited").
    config: [`PermitOpen 127.0.0.1:${kubeletPort}`],
    spawned: (child) => teardown.track(child),
    startTimeoutMs: 5_000,
  });
  teardown.add('sshd', () => sshd.stop());
  return {
    server: {
      kind: 'OpenSSH sshd',
      port: sshd.port,
      username: userInfo().username,
      clientKey: client.private,
      hostKey: fingerprint(hostKey.public),
    },
    log: () => sshd.log(),
    stop: () => sshd.stop(),
  };
}

async function startEmbeddedSshServer(
  teardown: Teardown,
  kubeletPort: number,
  hostKey: SshKeyPair,
  client: SshKeyPair,
): Promise<DemoSshServer> {
  const allowed = utils.parseKey(client.public);
  if (allowed instanceof Error) throw allowed;
  const conns = new Set<Connection>();
  const server = new Server({ hostKeys: [hostKey.private] }, (conn) => {
    conns.add(conn);
    conn.on('close', () => conns.delete(conn));
    conn.on('error', () => conn.end());
    conn.on('authentication', (ctx) => {
      const keyMatches = ctx.method === 'publickey' && ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH());
      // Without a signature the client only asks whether the key would do; with one it must verify.
      if (keyMatches && (!ctx.signature || (ctx.blob !== undefined && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true)))
        ctx.accept();
      else ctx.reject(['publickey']);
    });
    conn.on('ready', () => {
      conn.on('tcpip', (accept, reject, info) => {
        // Like the sshd config's PermitOpen: only the kubelet.
        if (info.destIP !== '127.0.0.1' || info.destPort !== kubeletPort) return reject();
        const upstream = net.connect({ host: info.destIP, port: info.destPort });
        upstream.once('error', () => (channel ? channel.destroy() : reject()));
        let channel: ServerChannel | undefined;
        upstream.once('connect', () => {
          channel = accept();
          channel.on('error', () => upstream.destroy());
          channel.on('close', () => upstream.destroy());
          upstream.pipe(channel).pipe(upstream);
        });
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  teardown.add(
    'embedded ssh server',
    () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.end();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as net.AddressInfo;
  return { kind: 'embedded ssh2 server', port, username: 'spoke', clientKey: client.private, hostKey: fingerprint(hostKey.public) };
}
