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

/** Options of {@link servePortForwardSpdy}. */
export interface PortForwardSpdyOptions {
  logger: Logger;
  /** How long the first stream of a pair waits for the second (the kubelet: 30 s). */
  streamCreationTimeoutMs: number;
}

interface StreamPair {
  error?: SpdyStream;
  data?: SpdyStream;
  timer?: NodeJS.Timeout;
}

/**
 * Port-forward over SPDY/3.1 (`portforward.k8s.io`), whether the SPDY bytes
 * come from an HTTP upgrade or a `SPDY/3.1+portforward.k8s.io` WebSocket,
 * as the kubelet serves it: each forwarded connection is an error stream and
 * a data stream sharing a `requestID`; once both are open the data stream is
 * spliced to 127.0.0.1:port. When the connection ends, both streams are
 * closed with no error text (client-go reads the error stream to its end
 * before it closes the local connection); a failed dial, or a pair left
 * incomplete past the timeout, is reported as text on the error stream.
 */
export function servePortForwardSpdy(conn: Duplex, pod: Pod, options: PortForwardSpdyOptions): SpdyServerSession {
  const allowed = podPorts(pod);
  const pairs = new Map<string, StreamPair>();
  const session = new SpdyServerSession(conn, {
    onStream(stream) {
      const type = stream.headers.get('streamtype');
      if (type !== 'error' && type !== 'data') return false;
      // Without a requestID, the kubelet pairs by stream id (error n, data n + 2).
      const requestId = stream.headers.get('requestid') ?? String(type === 'error' ? stream.id : stream.id - 2);
      let pair = pairs.get(requestId);
      if (!pair) {
        const created: StreamPair = {};
        created.timer = setTimeout(() => {
          created.error?.end(`timed out waiting for the ${created.data ? 'error' : 'data'} stream of request ${requestId}`);
          created.data?.end();
        }, options.streamCreationTimeoutMs);
        pairs.set(requestId, created);
        pair = created;
      }
      if (pair[type]) return false;
      const own = pair;
      own[type] = stream;
      stream.on('error', () => {
        // Resets are normal when the local client goes away; the pair cleans up on close.
      });
      stream.once('close', () => {
        if (own[type] === stream) delete own[type];
        if (!own.error && !own.data) {
          clearTimeout(own.timer);
          pairs.delete(requestId);
        }
      });
      // The client half-closes its error stream at once; drain its FIN.
      if (type === 'error') stream.resume();
      if (own.error && own.data) {
        clearTimeout(own.timer);
        const data = own.data;
        // After the session has answered this SYN_STREAM: data before SYN_REPLY is lost on the client.
        queueMicrotask(() => void forward(data, own));
      }
      return true;
    },
    onClose(err) {
      for (const pair of pairs.values()) clearTimeout(pair.timer);
      if (err) options.logger.debug('port-forward connection ended', { error: err.message });
    },
  });

  async function forward(data: SpdyStream, pair: StreamPair): Promise<void> {
    const fail = (message: string): void => {
      pair.error?.end(message);
      data.end();
    };
    const port = Number(data.headers.get('port'));
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
