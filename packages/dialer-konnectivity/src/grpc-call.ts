import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { Packet } from './packets.js';

/** The client side of one `/ProxyService/Proxy` stream. */
export type ProxyCall = ClientDuplexStream<Packet, Packet>;

/**
 * Ends our half of a gRPC stream and, if the server has not finished it within
 * `graceMs`, cancels it, so no stream (and no HTTP/2 resources) outlive a dial.
 * Errors after this point are expected and swallowed.
 */
export function finishCall(call: ProxyCall, graceMs: number): void {
  call.on('error', () => {});
  call.resume();
  if (!call.writableEnded) call.end();
  const timer = setTimeout(() => call.cancel(), graceMs);
  timer.unref();
  call.once('status', () => clearTimeout(timer));
  call.once('close', () => clearTimeout(timer));
}
