import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';

/** One attacker connection and when the victim closed it (ms after it was opened; Infinity while open). */
export interface SlowPeer {
  kind: string;
  socket: net.Socket;
  closedAfterMs(): number;
  /** The first 4 KiB the victim sent (a refusal's status line and headers), kept from the start. */
  received(): string;
  /** Resolves once the victim has closed it. */
  closed: Promise<void>;
}

/** The source address attackers use: loopback, but not the legitimate clients' 127.0.0.1, so per-address caps apply to them alone. */
export const ATTACKER_ADDRESS = '127.0.0.2';

function track(kind: string, socket: net.Socket): SlowPeer {
  const opened = performance.now();
  let closedAt = Infinity;
  let received = '';
  socket.on('error', () => {});
  // Read what the victim sends (keeping only its first 4 KiB): a peer that reads nothing never sees the
  // victim's FIN, and its socket would look open after the victim has closed its own end and freed the slot.
  socket.on('data', (chunk: Buffer) => {
    if (received.length < 4096) received += chunk.toString('latin1').slice(0, 4096 - received.length);
  });
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closedAt = performance.now();
      resolve();
    }),
  );
  return { kind, socket, closed, closedAfterMs: () => closedAt - opened, received: () => received };
}

/** Writes `text` a byte every 200 ms until the socket closes: a request head that is always about to finish. */
function trickle(socket: net.Socket, text: string): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    socket.write(text[i % text.length] ?? ' ');
    i++;
  }, 200);
  socket.once('close', () => clearInterval(timer));
}

/**
 * Opens a slowloris connection of `kind` to 127.0.0.1:`port` from ATTACKER_ADDRESS:
 * - `tcp`: connects and sends nothing;
 * - `tls-partial`: sends the first bytes of a TLS record and stops (the handshake never completes);
 * - `tls-idle`: completes TLS and sends nothing (no HTTP/2 preface, no request head);
 * - `head-trickle`: completes TLS (when `secure`) and trickles an endless request head;
 * - `plain-head-trickle`: the same without TLS (a plain-HTTP proxy);
 * - `socks-greeting`: sends a SOCKS5 greeting and never the request.
 * Resolves once the connection (and TLS, where used) is up, or with an already closed peer if the victim closed it first.
 */
export async function slowPeer(kind: string, port: number): Promise<SlowPeer> {
  const base = { host: '127.0.0.1', port, localAddress: ATTACKER_ADDRESS };
  if (kind === 'tls-idle' || kind === 'head-trickle') {
    const socket = tls.connect({ ...base, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] });
    const peer = track(kind, socket);
    await Promise.race([once(socket, 'secureConnect').catch(() => {}), peer.closed]);
    if (kind === 'head-trickle') trickle(socket, 'GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
    return peer;
  }
  const socket = net.connect(base);
  const peer = track(kind, socket);
  await Promise.race([once(socket, 'connect').catch(() => {}), peer.closed]);
  if (kind === 'tls-partial') socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
  if (kind === 'plain-head-trickle') trickle(socket, 'GET http://example.test/ HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
  if (kind === 'socks-greeting') socket.write(Buffer.from([0x05, 0x01, 0x00]));
  return peer;
}

/** Opens `count` peers of each kind in `kinds`, one after another (so admission order is known). */
export async function slowPeers(kinds: readonly string[], count: number, port: number): Promise<SlowPeer[]> {
  const peers: SlowPeer[] = [];
  for (const kind of kinds) for (let i = 0; i < count; i++) peers.push(await slowPeer(kind, port));
  return peers;
}

/** Closes what the victim left open. */
export function destroyAll(peers: readonly SlowPeer[]): void {
  for (const p of peers) p.socket.destroy();
}
