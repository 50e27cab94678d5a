import type net from 'node:net';
import { SpokeError, parseTarget, type TcpTarget } from '@spoke/transport-core';
import { readExactly } from '@spoke/transport-core/utils';
import { closeWith, peerName, relayClient, type RelayContext } from '../relay.js';
import { SOCKS5_REPLY, socksReplyFor } from './error-map.js';
import type { ProxyCredentials } from './proxy-auth.js';
import { refuseUnix, tcpTargetOnly } from './unix-targets.js';

const VERSION = 0x05;
const NO_AUTH = 0x00;
const USERNAME_PASSWORD = 0x02;
/** Version of the RFC 1929 username/password subnegotiation. */
const AUTH_VERSION = 0x01;
const NO_ACCEPTABLE_METHOD = 0xff;
const CMD_CONNECT = 0x01;
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;

/**
 * Serves one SOCKS5 client (RFC 1928): no authentication, or with `auth`
 * username/password only (RFC 1929; "no authentication" is then refused), CONNECT only,
 * IPv4/IPv6/domain addresses. A domain name is passed to the dialer as is, so
 * the far side of the tunnel resolves it (what `curl --socks5-hostname` and
 * `socks5h://` expect); one spelled `unix:/path` is refused (reply 2), a
 * unix socket is no proxy target. The reply reports the dial outcome with the closest
 * SOCKS5 code; then bytes are relayed. The handshake must finish before
 * `handshake` aborts.
 */
export async function serveSocks5(socket: net.Socket, relay: RelayContext, handshake: AbortSignal, auth?: ProxyCredentials): Promise<void> {
  const client = peerName(socket);
  let target: TcpTarget;
  try {
    target = await readRequest(socket, relay, client, handshake, auth);
  } catch (err) {
    relay.logger.debug('socks5 handshake failed', { client, error: err instanceof Error ? err.message : String(err) });
    closeWith(socket);
    return;
  }
  try {
    // BND.ADDR/PORT describe the far side's socket, which a tunnel does not expose: all zeros, as many proxies send.
    await relayClient(relay, socket, target, client, () =>
      socket.write(Buffer.from([VERSION, SOCKS5_REPLY.succeeded, 0x00, ATYP_IPV4, 0, 0, 0, 0, 0, 0])),
    );
  } catch (err) {
    reply(socket, socksReplyFor(err));
  }
}

async function readRequest(
  socket: net.Socket,
  relay: RelayContext,
  client: string,
  signal: AbortSignal,
  auth: ProxyCredentials | undefined,
): Promise<TcpTarget> {
  // A timeout of `signal` rejects with ERR_HANDSHAKE_TIMEOUT, a client leaving midway with ERR_PROTOCOL.
  const readBytes = (n: number): Promise<Buffer> => readExactly(socket, n, { signal, what: 'the SOCKS5 handshake' });
  const [version = 0, methodCount = 0] = await readBytes(2);
  if (version !== VERSION) throw new SpokeError('ERR_PROTOCOL', `Not a SOCKS5 client (version byte ${version}).`);
  const methods = await readBytes(methodCount);
  const method = auth ? USERNAME_PASSWORD : NO_AUTH;
  if (!methods.includes(method)) {
    closeWith(socket, Buffer.from([VERSION, NO_ACCEPTABLE_METHOD]));
    throw new SpokeError(
      'ERR_AUTH_FAILED',
      auth
        ? 'The SOCKS5 client offered no username/password method, which spoke proxy --auth-file requires.'
        : 'The SOCKS5 client offered no "no authentication" method, the only one spoke proxy supports without --auth-file.',
    );
  }
  socket.write(Buffer.from([VERSION, method]));
  if (auth) await login(socket, relay, client, auth, readBytes);
  const [, command = 0, , addressType = 0] = await readBytes(4);
  let host: string;
  if (addressType === ATYP_IPV4) host = [...(await readBytes(4))].join('.');
  else if (addressType === ATYP_IPV6) host = ipv6Text(await readBytes(16));
  else if (addressType === ATYP_DOMAIN) {
    const [length = 0] = await readBytes(1);
    host = (await readBytes(length)).toString('latin1');
  } else {
    reply(socket, SOCKS5_REPLY.addressTypeNotSupported);
    throw new SpokeError('ERR_PROTOCOL', `Unsupported SOCKS5 address type ${addressType}.`);
  }
  const port = (await readBytes(2)).readUInt16BE(0);
  if (command !== CMD_CONNECT) {
    reply(socket, SOCKS5_REPLY.commandNotSupported);
    throw new SpokeError('ERR_PROTOCOL', `Unsupported SOCKS5 command ${command}; only CONNECT is served.`);
  }
  try {
    // A domain name spelled like a unix target is refused as one (reply 2, not allowed), never looked up.
    if (host.startsWith('unix:')) throw refuseUnix(relay, host, client);
    return tcpTargetOnly(relay, parseTarget({ host, port }), client);
  } catch (err) {
    reply(socket, socksReplyFor(err));
    throw err;
  }
}

/** The RFC 1929 subnegotiation: a login that does not match is answered with a failure and the connection closed. */
async function login(
  socket: net.Socket,
  relay: RelayContext,
  client: string,
  auth: ProxyCredentials,
  readBytes: (n: number) => Promise<Buffer>,
): Promise<void> {
  const [version = 0, userLength = 0] = await readBytes(2);
  if (version !== AUTH_VERSION) throw new SpokeError('ERR_PROTOCOL', `Bad SOCKS5 username/password version ${version}.`);
  const user = (await readBytes(userLength)).toString('utf8');
  const [passwordLength = 0] = await readBytes(1);
  const password = (await readBytes(passwordLength)).toString('utf8');
  if (auth.checkLogin(user, password)) {
    socket.write(Buffer.from([AUTH_VERSION, 0x00]));
    return;
  }
  relay.logger.warn('proxy authentication failed', { client, protocol: 'socks5' });
  closeWith(socket, Buffer.from([AUTH_VERSION, 0x01]));
  throw new SpokeError('ERR_AUTH_FAILED', 'The SOCKS5 username and password match nothing in --auth-file.');
}

function reply(socket: net.Socket, code: number): void {
  closeWith(socket, Buffer.from([VERSION, code, 0x00, ATYP_IPV4, 0, 0, 0, 0, 0, 0]));
}

function ipv6Text(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // The WHATWG URL parser prints IPv6 in its canonical compressed form (RFC 5952).
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}
