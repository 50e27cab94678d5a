import net from 'node:net';
import { chunks, closeResponse, dataPacket, dialResponse, drainPacket, PacketType, type Packet } from '../packets.js';
import type { PacketClientCall } from '../packet-call.js';
import { goDialErrorText, parseDialAddress } from './dial-error-text.js';

/** How one server stream serves dials. */
export interface AgentSessionInit {
  call: PacketClientCall;
  serverId: string;
  /** Destination check; false answers the dial with an error. */
  allow: (host: string, port: number) => boolean;
  dialTimeoutMs: number;
  /** Bytes queued towards one destination before it counts as stalled. */
  maxQueuedBytes: number;
  /** How long a destination may stay stalled before that connection alone is closed. */
  stallTimeoutMs: number;
  onClose: (session: AgentSession, err?: Error) => void;
  log: (msg: string) => void;
}

interface Conn {
  socket: net.Socket;
  stalledSince: number | undefined;
}

/**
 * One `/AgentService/Connect` stream to one proxy-server: serves DIAL_REQ by
 * dialing TCP, relays DATA both ways and answers CLOSE_REQ. connectIDs count
 * from 1 per stream, as upstream's agent does.
 *
 * Unlike upstream, a slow destination never blocks the shared receive loop:
 * its bytes queue in its own socket buffer, and a connection whose queue stays
 * above `maxQueuedBytes` for `stallTimeoutMs` is closed alone.
 */
export class AgentSession {
  readonly serverId: string;
  readonly #init: AgentSessionInit;
  readonly #conns = new Map<bigint, Conn>();
  readonly #pending = new Map<bigint, net.Socket>();
  readonly #pausedForGrpc = new Set<net.Socket>();
  #nextId = 1n;
  #closed = false;
  #stallTimer: NodeJS.Timeout | undefined;

  constructor(init: AgentSessionInit) {
    this.#init = init;
    this.serverId = init.serverId;
    const { call } = init;
    call.on('data', (p: Packet) => this.#onPacket(p));
    call.on('error', (err: Error) => this.#shutdown(err));
    call.on('end', () => this.#shutdown());
    call.on('drain', () => {
      for (const s of this.#pausedForGrpc) s.resume();
      this.#pausedForGrpc.clear();
    });
    this.#stallTimer = setInterval(() => this.#checkStalls(), Math.max(100, Math.min(1000, init.stallTimeoutMs / 4)));
    this.#stallTimer.unref();
  }

  /** Open destination connections on this stream. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Tells the server this agent is going away (it prefers other agents for new dials). */
  drain(): void {
    if (!this.#closed) this.#init.call.write(drainPacket());
  }

  /** Closes the stream and every destination connection on it. */
  close(): void {
    if (this.#closed) return;
    this.#init.call.end();
    this.#init.call.cancel();
    this.#shutdown();
  }

  #send(p: Packet): boolean {
    if (this.#closed) return true;
    return this.#init.call.write(p);
  }

  #onPacket(p: Packet): void {
    switch (p.type) {
      case PacketType.DIAL_REQ:
        if (p.dialRequest) this.#dial(p.dialRequest.address, p.dialRequest.random);
        return;
      case PacketType.DATA:
        if (p.data) this.#write(p.data.connectID, p.data.data);
        return;
      case PacketType.CLOSE_REQ:
        if (p.closeRequest) this.#closeConn(p.closeRequest.connectID, true);
        return;
      case PacketType.DIAL_CLS:
        // Upstream ignores it; we cancel the dial if it is still running.
        if (p.closeDial) this.#pending.get(p.closeDial.random)?.destroy();
        return;
      default:
        return;
    }
  }

  #dial(address: string, random: bigint): void {
    const parsed = parseDialAddress(address);
    if ('error' in parsed) {
      this.#send(dialResponse(random, 0n, parsed.error));
      return;
    }
    const { host, port } = parsed;
    if (!this.#init.allow(host, port)) {
      this.#send(dialResponse(random, 0n, `dial tcp ${address}: destination not allowed by the agent's allow list`));
      return;
    }
    const socket = net.connect({ host, port });
    this.#pending.set(random, socket);
    const timer = setTimeout(
      () => socket.destroy(Object.assign(new Error('timeout'), { code: 'SPOKE_DIAL_TIMEOUT' })),
      this.#init.dialTimeoutMs,
    );
    const fail = (err: Error): void => {
      clearTimeout(timer);
      if (this.#pending.get(random) !== socket) return;
      this.#pending.delete(random);
      this.#send(dialResponse(random, 0n, goDialErrorText(err, address)));
    };
    socket.once('error', fail);
    socket.once('close', () => fail(new Error('dial cancelled')));
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      this.#pending.delete(random);
      if (this.#closed) {
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      const id = this.#nextId++;
      this.#conns.set(id, { socket, stalledSince: undefined });
      // DIAL_RSP goes out before any DATA of this connection, as upstream guarantees.
      this.#send(dialResponse(random, id));
      this.#pump(id, socket);
    });
  }

  #pump(id: bigint, socket: net.Socket): void {
    socket.on('data', (buf: Buffer) => {
      let ok = true;
      for (const part of chunks(buf)) ok = this.#send(dataPacket(id, part)) && ok;
      if (!ok) {
        // The gRPC stream is full: hold this destination until it drains.
        socket.pause();
        this.#pausedForGrpc.add(socket);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#pausedForGrpc.delete(socket);
      if (this.#conns.get(id)?.socket !== socket) return;
      this.#conns.delete(id);
      // The destination closed (EOF or error): tell the server, unsolicited.
      this.#send(closeResponse(id));
    });
    socket.on('end', () => socket.end());
  }

  #write(id: bigint, data: Buffer): void {
    const conn = this.#conns.get(id);
    if (!conn) return;
    conn.socket.write(data);
    if (conn.socket.writableLength > this.#init.maxQueuedBytes) conn.stalledSince ??= Date.now();
  }

  #checkStalls(): void {
    const now = Date.now();
    for (const [id, conn] of this.#conns) {
      if (conn.socket.writableLength <= this.#init.maxQueuedBytes) conn.stalledSince = undefined;
      else if (conn.stalledSince !== undefined && now - conn.stalledSince > this.#init.stallTimeoutMs) {
        this.#init.log(
          `closing connection ${id} to a destination that stopped reading (${conn.socket.writableLength} bytes queued for ${now - conn.stalledSince} ms)`,
        );
        this.#conns.delete(id);
        conn.socket.destroy();
        this.#send(closeResponse(id, 'destination stopped reading: queue limit exceeded'));
      }
    }
  }

  #closeConn(id: bigint, reply: boolean): void {
    const conn = this.#conns.get(id);
    if (conn) {
      this.#conns.delete(id);
      // Let queued bytes reach the destination, then close it.
      conn.socket.end();
      conn.socket.destroySoon();
    }
    // Upstream's agent answers a CLOSE_REQ for a connection it does not have this way too.
    if (reply) this.#send(closeResponse(id, conn ? '' : 'Unknown connectID'));
  }

  #shutdown(err?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#stallTimer) clearInterval(this.#stallTimer);
    for (const s of this.#pending.values()) s.destroy();
    this.#pending.clear();
    for (const { socket } of this.#conns.values()) socket.destroy();
    this.#conns.clear();
    this.#init.call.on('error', () => {});
    this.#init.onClose(this, err);
  }
}
