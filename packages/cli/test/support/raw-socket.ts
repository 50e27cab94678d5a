import { once } from 'node:events';
import net from 'node:net';

/** A raw TCP connection to `host:port` (as a proxy prints it), open. */
export async function connectTo(address: string): Promise<net.Socket> {
  const [host = '', port = ''] = address.split(/:(?=\d+$)/);
  const socket = net.connect(Number(port), host);
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

/** Everything `socket` receives (as latin1 text, one char per byte) until the peer closes it. */
export function untilClosed(socket: net.Socket): Promise<string> {
  let received = '';
  socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
  return new Promise((resolve) => socket.once('close', () => resolve(received)));
}
