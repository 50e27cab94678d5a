import type { WebSocket } from 'ws';

/** Remote-command channel numbers (apimachinery `remotecommand` constants). */
export const Channel = { STDIN: 0, STDOUT: 1, STDERR: 2, ERROR: 3, RESIZE: 4, CLOSE: 255 } as const;

/** WebSocket subprotocols the node serves for exec/attach, most preferred first. */
export const REMOTE_COMMAND_PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'channel.k8s.io',
  'base64.channel.k8s.io',
] as const;

/** WebSocket subprotocols for the legacy channel port-forward. */
export const PORT_FORWARD_CHANNEL_PROTOCOLS = [
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'channel.k8s.io',
  'base64.channel.k8s.io',
] as const;

/** The `SPDY/3.1+portforward.k8s.io` tunnel (KEP-4006): SPDY frames inside binary WebSocket messages. */
export const SPDY_TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';

/** A channel-framed WebSocket: one leading byte (or ASCII digit, base64 form) names the channel. */
export class ChannelSocket {
  readonly base64: boolean;

  constructor(
    readonly ws: WebSocket,
    readonly protocol: string,
  ) {
    this.base64 = protocol.includes('base64');
  }

  /** Protocol version: 5 for v5, 4 for v4, 1 for the unversioned forms. */
  get version(): number {
    const m = /^v(\d)\./.exec(this.protocol);
    return m ? Number(m[1]) : 1;
  }

  /** Sends bytes on a channel (nothing once the socket is closing). */
  send(channel: number, data: Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.base64) this.ws.send(`${String.fromCharCode(48 + channel)}${data.toString('base64')}`);
    else this.ws.send(Buffer.concat([Buffer.from([channel]), data]));
  }

  /** Calls `handler` with every incoming (channel, payload). */
  onMessage(handler: (channel: number, payload: Buffer) => void): void {
    this.ws.on('message', (raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const data = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
      if (data.length === 0) return;
      if (this.base64 && !isBinary) handler((data[0] ?? 48) - 48, Buffer.from(data.subarray(1).toString('latin1'), 'base64'));
      else handler(data[0] ?? 0, data.subarray(1));
    });
  }
}
