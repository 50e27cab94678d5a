import { PassThrough, Writable } from 'node:stream';
import { Channel, type ChannelSocket } from './channels.js';
import { statusPayload, type CommandIo, type StreamRequest } from './remote-command.js';
import type { TerminalSize } from './pty.js';

/** A Writable that sends each chunk as one message on `channel`. */
function channelWriter(socket: ChannelSocket, channel: number): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      socket.send(channel, chunk);
      callback();
    },
  });
}

/**
 * Exec/attach over WebSocket channels (`v5`/`v4.channel.k8s.io` and the
 * older forms): 0 stdin (v5 `[255, 0]` or the socket closing ends it),
 * 1 stdout, 2 stderr, 3 the status, 4 terminal sizes as JSON. v5 announces
 * readiness with an empty message on the lowest writable channel.
 */
export function webSocketCommandIo(socket: ChannelSocket, req: StreamRequest): CommandIo {
  const stdin = req.stdin ? new PassThrough() : undefined;
  const resizeHandlers: Array<(size: TerminalSize) => void> = [];
  socket.onMessage((channel, payload) => {
    if (channel === Channel.STDIN && payload.length > 0) stdin?.write(payload);
    else if (channel === Channel.CLOSE && payload[0] === Channel.STDIN) stdin?.end();
    else if (channel === Channel.RESIZE) {
      let size: TerminalSize;
      try {
        size = JSON.parse(payload.toString('utf8')) as TerminalSize;
      } catch {
        return; // a malformed size changes nothing, as in the kubelet
      }
      for (const handler of resizeHandlers) handler(size);
    }
  });
  // Without v5 CLOSE, the socket closing is the only end-of-input signal.
  socket.ws.once('close', () => stdin?.end());
  const io: CommandIo = {
    stdin,
    stdout: req.stdout ? channelWriter(socket, Channel.STDOUT) : undefined,
    stderr: req.stderr ? channelWriter(socket, Channel.STDERR) : undefined,
    killOnClientGone: socket.version >= 5,
    onResize: (handler) => void resizeHandlers.push(handler),
    onClosed: (handler) => void socket.ws.once('close', handler),
    finish(status) {
      const payload = statusPayload(socket.version, status);
      if (payload) socket.send(Channel.ERROR, payload);
      socket.ws.close(1000);
    },
  };
  if (socket.version >= 5) socket.send(req.stdout ? Channel.STDOUT : req.stderr ? Channel.STDERR : Channel.ERROR, Buffer.alloc(0));
  return io;
}
