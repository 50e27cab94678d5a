import net from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2, { type Connection, type ServerChannel } from 'ssh2';
import { generateSshKeyPair } from '../src/testing/key-pair.js';

const { Server, utils } = ssh2;

/** Channel opens to this host are never answered. */
export const HANG_HOST = 'hang.spoke.test';

/** How the in-process server treats channel requests, switchable per test. */
export interface FaultPlan {
  /** Refuse every channel with this RFC 4254 reason and description instead of connecting. */
  rejectWith?: { reason: number; description: string };
  /** Drop the whole SSH connection (no goodbye) after this many bytes were forwarded to the client. */
  dieAfterBytes?: number;
}

/** An ssh2 `Server` on 127.0.0.1 that forwards `direct-tcpip` and streamlocal channels, with fault injection. */
export interface FakeSshServer {
  host: '127.0.0.1';
  port: number;
  username: string;
  /** Unencrypted client private key (OpenSSH format) the server accepts. */
  clientKey: string;
  /** Host key fingerprint (`SHA256:...`). */
  hostKeyLine: string;
  faults: FaultPlan;
  /** Number of SSH connections accepted so far. */
  connections(): number;
  /** Number of SSH connections open now. */
  openConnections(): number;
  /** Number of direct-tcpip channel requests seen. */
  channels(): number;
  close(): Promise<void>;
}

/**
 * Starts an in-process SSH server. Unlike OpenSSH it maps a TCP reset on the
 * target to CHANNEL_CLOSE without EOF and a client's CLOSE-without-EOF to a TCP
 * reset, so the compliance suite's reset cases are observable end to end.
 */
export async function startFakeSshServer(): Promise<FakeSshServer> {
  const hostKey = generateSshKeyPair();
  const client = generateSshKeyPair();
  const allowed = utils.parseKey(client.public);
  if (allowed instanceof Error) throw allowed;
  const faults: FaultPlan = {};
  const conns = new Set<Connection>();
  let count = 0;
  let channels = 0;
  const server = new Server({ hostKeys: [hostKey.private] }, (conn) => {
    count++;
    conns.add(conn);
    conn.on('close', () => conns.delete(conn));
    conn.on('error', () => {});
    let forwarded = 0;
    const sock = (conn as unknown as { _sock: net.Socket })._sock;
    conn.on('authentication', (ctx) => {
      if (
        ctx.method === 'publickey' &&
        ctx.key.algo === allowed.type &&
        ctx.key.data.equals(allowed.getPublicSSH()) &&
        (!ctx.signature || (ctx.blob !== undefined && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true))
      ) {
        ctx.accept();
        return;
      }
      ctx.reject(['publickey']);
    });
    const forward = (accept: () => ServerChannel, reject: () => void, connect: () => net.Socket): void => {
      if (faults.rejectWith) {
        rejectWith(conn, faults.rejectWith, reject);
        return;
      }
      const upstream = connect();
      upstream.once('error', (err: NodeJS.ErrnoException) => {
        if (!channel)
          rejectWith(conn, { reason: 2, description: err.code === 'ECONNREFUSED' ? 'Connection refused' : err.message }, reject);
      });
      let channel: ServerChannel | undefined;
      upstream.once('connect', () => {
        channel = accept();
        bridge(channel, upstream, (n) => {
          forwarded += n;
          if (faults.dieAfterBytes !== undefined && forwarded >= faults.dieAfterBytes) sock.destroy();
        });
      });
    };
    conn.on('ready', () => {
      conn.on('tcpip', (accept, reject, info) => {
        // A channel open the server never answers: the SSH-level equivalent of a black-holed host.
        if (info.destIP === HANG_HOST) return;
        channels++;
        // Test node names (*.spoke.test) all live on loopback.
        const host = info.destIP.endsWith('.spoke.test') ? '127.0.0.1' : info.destIP;
        forward(accept, reject, () => net.connect({ host, port: info.destPort, allowHalfOpen: true }));
      });
      conn.on('openssh.streamlocal', (accept, reject, info) =>
        forward(accept, reject, () => net.connect({ path: info.socketPath, allowHalfOpen: true })),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    username: 'spoke',
    clientKey: client.private,
    hostKeyLine: hostKey.public,
    faults,
    connections: () => count,
    openConnections: () => conns.size,
    channels: () => channels,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.end();
        server.close(() => resolve());
      }),
  };
}

function rejectWith(conn: Connection, why: { reason: number; description: string }, reject: () => void): void {
  // ssh2's public reject() always says CONNECT_FAILED with no text; substitute the reason for this one reply.
  type Protocol = { channelOpenFail: (this: unknown, id: number, reason: number, desc: string) => void };
  const proto = (conn as unknown as { _protocol: Protocol })._protocol;
  const original = proto.channelOpenFail;
  proto.channelOpenFail = function (id: number) {
    proto.channelOpenFail = original;
    original.call(this, id, why.reason, why.description);
  };
  reject();
}

// Server-side ssh2 channels send CLOSE together with EOF on end(), which would
// forbid the client's half-close; eof() alone sends just EOF.
function bridge(channel: ServerChannel, upstream: net.Socket, onForward: (n: number) => void): void {
  const ch = channel as ServerChannel & { eof(): void; close(): void };
  let upstreamEnded = false;
  let clientEnded = false;
  let reset = false;
  const finishIfDone = (): void => {
    if (upstreamEnded && clientEnded) ch.close();
  };
  upstream.on('data', (c: Buffer) => {
    onForward(c.length);
    if (!channel.write(c)) upstream.pause();
  });
  channel.on('drain', () => upstream.resume());
  upstream.on('end', () => {
    upstreamEnded = true;
    // EOF only after everything queued behind the SSH window went out (an empty write completes in order).
    channel.write(Buffer.alloc(0), () => {
      ch.eof();
      finishIfDone();
    });
  });
  upstream.on('error', () => {
    // A reset on the target: abort the channel (CLOSE without EOF), the nearest SSH has to an RST.
    reset = true;
    ch.close();
  });
  channel.on('data', (c: Buffer) => {
    if (!upstream.write(c)) (channel as Duplex).pause();
  });
  upstream.on('drain', () => (channel as Duplex).resume());
  channel.on('end', () => {
    clientEnded = true;
    const incoming = (channel as unknown as { incoming: { state: string } }).incoming.state;
    if (incoming === 'closed' && !reset && !upstream.writableEnded) upstream.resetAndDestroy();
    else upstream.end();
    finishIfDone();
  });
  channel.on('close', () => {
    if (!upstream.destroyed && !(upstreamEnded && clientEnded)) upstream.resetAndDestroy();
  });
  channel.on('error', () => upstream.destroy());
}
