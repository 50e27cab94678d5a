import net from 'node:net';
import { type Logger } from '@spoke/transport-core';
import { splice } from '@spoke/transport-core/utils';
import type { ChannelSocket } from './channels.js';
import type { Pod } from './runtime.js';
import type { Duplex } from 'node:stream';
import { SpdyServerSession, type SpdyStream } from './spdy/session.js';

/** The ports a pod exposes; port-forward refuses others (the pod network here is the node's loopback). */
export function podPorts(pod: Pod): Set<number> {
  const ports = new Set<number>();
  for (const c of pod.containers.values()) for (const p of c.ports) ports.add(p.containerPort);
  return ports;
}

function dialPod(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * Port-forward over SPDY/3.1 (`portforward.k8s.io`), whether the SPDY bytes
 * come from an HTTP upgrade or a `SPDY/3.1+portforward.k8s.io` WebSocket:
 * each forwarded connection is an error stream and a data stream sharing a
 * `requestID`; the data stream is spliced to 127.0.0.1:port, and a failed
 * dial is reported as text on the error stream.
 */
export function servePortForwardSpdy(conn: Duplex, pod: Pod, logger: Logger): SpdyServerSession {
  const allowed = podPorts(pod);
  const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
  const session = new SpdyServerSession(conn, {
    onStream(stream) {
      const type = stream.headers.get('streamtype');
      const requestId = stream.headers.get('requestid') ?? '';
      const port = Number(stream.headers.get('port'));
      if (type !== 'error' && type !== 'data') return false;
      const pair = pairs.get(requestId) ?? {};
      pairs.set(requestId, pair);
      pair[type] = stream;
      stream.on('error', () => {
        // Resets are normal when the local client goes away; the pair cleans up on close.
      });
      stream.once('close', () => {
        if (pair[type] === stream) delete pair[type];
        if (!pair.error && !pair.data) pairs.delete(requestId);
      });
      if (type === 'error') {
        stream.resume(); // the client half-closes it at once; drain its FIN
        return true;
      }
      void forward(stream, pair, port);
      return true;
    },
    onClose(err) {
      if (err) logger.debug('port-forward connection ended', { error: err.message });
    },
  });

  async function forward(data: SpdyStream, pair: { error?: SpdyStream }, port: number): Promise<void> {
    const fail = (message: string): void => {
      pair.error?.end(message);
      data.end();
    };
    if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(`invalid port ${JSON.stringify(data.headers.get('port'))}`);
    if (!allowed.has(port))
      return fail(`port ${port} is not declared by pod ${pod.namespace}/${pod.name} (declared: ${[...allowed].join(', ') || 'none'})`);
    let socket: net.Socket;
    try {
      socket = await dialPod(port);
    } catch (err) {
      return fail(`error forwarding port ${port} to pod ${pod.name}: ${(err as Error).message}`);
    }
    splice(data, socket, () => pair.error?.end());
  }
  return session;
}

/**
 * The legacy WebSocket port-forward (`v4.channel.k8s.io`): for the i-th
 * `port` query value, channel 2i carries data and 2i+1 errors; the first two
 * bytes each way on every channel are the port, little-endian. One TCP
 * connection per port for the life of the socket.
 */
export function servePortForwardChannels(socket: ChannelSocket, pod: Pod, ports: number[]): void {
  const allowed = podPorts(pod);
  const conns = new Map<number, net.Socket>();
  const prefix = (port: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(port);
    return b;
  };
  ports.forEach((port, i) => {
    socket.send(2 * i, prefix(port));
    socket.send(2 * i + 1, prefix(port));
    if (!allowed.has(port)) {
      socket.send(2 * i + 1, Buffer.from(`port ${port} is not declared by pod ${pod.name}`));
      return;
    }
    const conn = net.connect({ host: '127.0.0.1', port });
    conns.set(2 * i, conn);
    conn.on('data', (chunk: Buffer) => socket.send(2 * i, chunk));
    conn.on('error', (err) => socket.send(2 * i + 1, Buffer.from(`error forwarding port ${port}: ${err.message}`)));
    conn.on('close', () => {
      conns.delete(2 * i);
      if (conns.size === 0) socket.ws.close(1000);
    });
  });
  // The client's first two bytes on each data channel repeat the port.
  const seen = new Set<number>();
  socket.onMessage((channel, payload) => {
    const conn = conns.get(channel);
    if (!conn) return;
    let data = payload;
    if (!seen.has(channel)) {
      seen.add(channel);
      data = data.subarray(2);
    }
    if (data.length > 0) conn.write(data);
  });
  socket.ws.on('close', () => {
    for (const conn of conns.values()) conn.destroy();
  });
}
