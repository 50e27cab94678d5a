import { closeResponse, dataPacket, dialResponse, PacketType, type Packet } from '../packets.js';
import type { PacketCall } from '../packet-call.js';
import type { DialRouter, Frontend, PendingFailure } from './tunnel-core.js';

/**
 * Serves one `/ProxyService/Proxy` stream: its first DIAL_REQ starts the one
 * dial the stream carries; DATA, CLOSE_REQ and DIAL_CLS follow.
 */
export function serveGrpcFrontend(call: PacketCall, core: DialRouter, onDone: () => void): void {
  let random: bigint | undefined;
  let connectID = 0n;
  let finished = false;
  // Bytes handed to gRPC whose write has not completed: HTTP/2 flow control
  // holds them while the client does not read, so this is the stall signal.
  let unsent = 0;
  let below: { bytes: number; callback: () => void } | undefined;
  const sent = (n: number): void => {
    unsent -= n;
    if (below && unsent <= below.bytes) {
      const { callback } = below;
      below = undefined;
      callback();
    }
  };
  const finish = (): void => {
    if (finished) return;
    finished = true;
    core.detach(fe);
    if (!call.writableEnded) call.end();
    onDone();
  };
  const fe: Frontend = {
    dialed(id, error) {
      if (random === undefined) return;
      call.write(dialResponse(random, id, error));
      if (error !== '') finish();
      else connectID = id;
    },
    data(bytes) {
      if (finished) return;
      unsent += bytes.length;
      call.write(dataPacket(connectID, bytes), () => sent(bytes.length));
    },
    remoteClosed(error) {
      if (finished) return;
      call.write(closeResponse(connectID, error ?? ''));
      finish();
    },
    failed(reason: PendingFailure, text: string) {
      if (random === undefined || finished) return;
      if (reason === 'no_agent' || reason === 'backend_dial_timeout' || reason === 'backend_close')
        call.write(dialResponse(random, 0n, text));
      else call.write({ type: PacketType.DIAL_CLS, closeDial: { random } });
      finish();
    },
    queued: () => unsent,
    whenQueueBelow(bytes, callback) {
      if (unsent <= bytes) callback();
      else below = { bytes, callback };
    },
    stalled() {
      if (finished) return;
      finished = true;
      core.detach(fe);
      // A status would queue behind the full HTTP/2 window of a client that
      // stopped reading: reset the stream instead.
      call.reset();
      onDone();
    },
    pause: () => call.pause(),
    resume: () => call.resume(),
  };
  call.on('data', (p: Packet) => {
    if (finished) return;
    switch (p.type) {
      case PacketType.DIAL_REQ:
        if (random !== undefined || !p.dialRequest) return; // one dial per stream
        random = p.dialRequest.random;
        core.dial(fe, p.dialRequest.address, random, p);
        return;
      case PacketType.DATA:
        if (p.data) core.data(fe, p.data.data);
        return;
      case PacketType.CLOSE_REQ:
        // Forwarded to the agent; its CLOSE_RSP ends this stream.
        core.close(fe);
        return;
      case PacketType.DIAL_CLS:
        core.close(fe);
        finish();
        return;
      default:
        return;
    }
  });
  // The client half-closed: it sends nothing more and, as upstream's server does, we end the
  // stream now; a pending dial is abandoned, an open connection is closed at the agent
  // (CLOSE_REQ, if the client did not send one) and its CLOSE_RSP is not waited for.
  call.on('end', finish);
  call.on('close', () => finish());
}
