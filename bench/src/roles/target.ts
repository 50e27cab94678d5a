import net from 'node:net';
import type { Role } from './role.js';
import { CHUNK, CHUNK_BYTES, OP_ECHO, OP_GET, OP_PUSH } from '../target-protocol.js';

/** The far end of every path: sink, source and echo on one loopback port (see target-protocol.ts). */
export async function startTarget(): Promise<Role> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    serve(socket);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, resolve));
  return {
    info: { port: (server.address() as net.AddressInfo).port },
    commands: {
      connections: () => sockets.size,
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

function serve(socket: net.Socket): void {
  let head: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const op = head[0];
    if (op === OP_PUSH) {
      if (head.length < 9) return;
      socket.off('data', onData);
      sink(socket, Number(head.readBigUInt64BE(1)), head.length - 9);
    } else if (op === OP_ECHO) {
      socket.off('data', onData);
      if (head.length > 1) socket.write(head.subarray(1));
      socket.pipe(socket);
    } else if (op === OP_GET) {
      if (head.length < 9) return;
      socket.off('data', onData);
      source(socket, Number(head.readBigUInt64BE(1)));
    } else {
      socket.destroy();
    }
  };
  socket.on('data', onData);
}

function sink(socket: net.Socket, size: number, already: number): void {
  let count = already;
  const answer = (): void => {
    const reply = Buffer.allocUnsafe(8);
    reply.writeBigUInt64BE(BigInt(count));
    socket.end(reply);
  };
  if (size > 0 && count >= size) return answer();
  socket.on('data', (chunk: Buffer) => {
    count += chunk.length;
    if (size > 0 && count >= size && count - chunk.length < size) answer();
  });
  socket.once('end', () => {
    if (size === 0) answer();
    else if (count < size) socket.destroy();
  });
}

function source(socket: net.Socket, size: number): void {
  let left = size;
  // Whatever else the client sends is ignored; its half-close is expected.
  socket.on('data', () => {});
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, CHUNK_BYTES);
      left -= n;
      if (!socket.write(n === CHUNK_BYTES ? CHUNK : CHUNK.subarray(0, n))) {
        socket.once('drain', pump);
        return;
      }
    }
    socket.end();
  };
  pump();
}
