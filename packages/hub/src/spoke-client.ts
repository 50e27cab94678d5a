import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import {
  SpokeError,
  badUri,
  dialerClosedError,
  dialTarget,
  readUriFile,
  type DialOptions,
  type Dialer,
  type DialerScheme,
  type Session,
  type Target,
  type TlsClientOptions,
} from '@spoke/transport-core';
import { UsageRef, checkSecretFile } from '@spoke/transport-core/utils';
import { sessionOverWebSocket } from './ws-carrier.js';
import { connectToHub } from './hub-connect.js';
import type { HubSessionOptions } from './hub-options.js';
import { ReverseRoutes, type SpokeDialer } from './reverse-client.js';

/** Options of {@link createSpokeDialer}. */
export interface SpokeDialerOptions {
  /** The hub: `wss://host:port` (or `ws://` with `insecurePlaintext`). */
  url: string;
  /** Client bearer token, or a function reading it (called on every connect). */
  token?: string | (() => string);
  /** Verification of the hub: CA and/or `fingerprint: "sha256:<hex>"`; client certificate for mTLS. */
  tls?: TlsClientOptions;
  /** Route every dial to this agent id instead of by address. */
  agent?: string;
  insecurePlaintext?: boolean;
  /** How to reach the hub. */
  via?: Dialer;
  session?: HubSessionOptions;
}

/** The client session, what keeps its connection referenced, and its reverse listeners. */
interface ClientSession {
  session: Session;
  usage: UsageRef;
  reverse: ReverseRoutes;
}

/**
 * A Dialer that reaches targets through a spoke hub: one client session
 * (opened lazily, reopened after it ends) carries every dial. The session's
 * connection holds the process open only while a dial is in flight or a
 * stream is open: a program that is done exits without calling `close()`.
 */
export function createSpokeDialer(options: SpokeDialerOptions): SpokeDialer {
  let current: Promise<ClientSession> | undefined;
  let closed = false;
  const hop = `spoke+${options.url}`;
  const session = (signal: AbortSignal): Promise<ClientSession> => {
    if (current) {
      const c = current;
      return c.then((s) => {
        if (s.session.state === 'open') return s;
        if (current === c) current = undefined;
        return session(signal);
      });
    }
    const token = typeof options.token === 'function' ? options.token() : options.token;
    let usage = new UsageRef();
    let releaseConnect = (): void => {};
    const attempt = connectToHub({
      url: options.url,
      path: '/v1/client',
      ...(token !== undefined ? { token } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.insecurePlaintext ? { insecurePlaintext: true } : {}),
      ...(options.via ? { via: options.via } : {}),
      signal,
      onConnection: (...layers) => {
        usage = new UsageRef(...layers);
        // Referenced until the session is up, then only while dials and streams use it.
        releaseConnect = usage.hold();
      },
    }).then(async (ws) => {
      const reverse = new ReverseRoutes();
      const s = sessionOverWebSocket(
        ws,
        {
          ...options.session,
          role: 'initiator',
          id: 'client',
          ...(options.agent ? { extensions: { agent: options.agent } } : {}),
          // The hub dials only the reverse listeners this client opened (none unless listen() was called).
          onDial: reverse.onDial,
        },
        `hub ${options.url}`,
      );
      await s.ready({ signal });
      return { session: s, usage, reverse };
    });
    attempt.then(
      () => releaseConnect(),
      () => releaseConnect(),
    );
    current = attempt;
    attempt.catch(() => {
      if (current === attempt) current = undefined;
    });
    return attempt;
  };
  return {
    kind: 'spoke',
    dial(input: Target | string, dialOptions?: DialOptions): Promise<Duplex> {
      return dialTarget(
        input,
        dialOptions,
        hop,
        () => closed,
        async (target, signal) => {
          const client = await session(signal);
          const release = client.usage.hold();
          try {
            const stream = await client.session.dial(target, { signal });
            client.usage.holdUntilClosed(stream);
            return stream;
          } finally {
            release();
          }
        },
      );
    },
    async listen(bind, connect, listenOptions = {}) {
      if (closed) throw dialerClosedError('spoke dialer', { hop });
      const client = await session(listenOptions.signal ?? new AbortController().signal);
      // Referenced while the hub answers, then for as long as the listener lasts (it keeps the process alive).
      const release = client.usage.hold();
      try {
        const listener = await client.reverse.listen(client.session, bind, connect, listenOptions.signal);
        void listener.closed.then(release);
        return listener;
      } catch (err) {
        release();
        throw err;
      }
    },
    async close() {
      closed = true;
      const c = current;
      current = undefined;
      if (c)
        await c.then(
          (s) => s.session.close(),
          () => {},
        );
    },
  };
}

const FORMS = `spoke+wss://HUB:PORT/?token-file=FILE&ca=FILE&fingerprint=sha256:HEX&agent=ID    through a spoke hub
spoke+ws://127.0.0.1:PORT/?token-file=FILE&insecure-plaintext=true                  plain ws (loopback tests only)`;
const KNOWN = new Set(['token-file', 'ca', 'fingerprint', 'agent', 'cert', 'key', 'insecure-plaintext', 'servername']);

/** `spoke+wss://` (and `spoke+ws://`) URIs for the CLI and apps. */
export const spokeScheme: DialerScheme = {
  schemes: ['spoke+wss', 'spoke+ws'],
  usage: FORMS,
  create(uri, context) {
    for (const key of uri.searchParams.keys()) if (!KNOWN.has(key)) throw badUri(uri.href, `unknown parameter "${key}"`, FORMS);
    if (uri.username || uri.password) throw badUri(uri.href, 'credentials do not belong in the URI; use token-file=FILE', FORMS);
    if (!uri.hostname || !uri.port) throw badUri(uri.href, 'the hub host and port are required', FORMS);
    const plaintext = uri.protocol === 'spoke+ws:';
    if (plaintext && uri.searchParams.get('insecure-plaintext') !== 'true')
      throw badUri(uri.href, 'spoke+ws:// needs insecure-plaintext=true', FORMS);
    if (plaintext) context.warn(`connecting to the hub ${uri.host} without TLS (insecure-plaintext)`);
    const tokenFile = uri.searchParams.get('token-file');
    const ca = readUriFile(uri, 'ca');
    const cert = readUriFile(uri, 'cert');
    const key = readUriFile(uri, 'key');
    const fingerprint = uri.searchParams.get('fingerprint') ?? undefined;
    const servername = uri.searchParams.get('servername') ?? undefined;
    const agent = uri.searchParams.get('agent') ?? undefined;
    const tls: TlsClientOptions = {
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(fingerprint ? { fingerprint } : {}),
      ...(servername ? { servername } : {}),
    };
    const tokenPath = tokenFile ? resolve(process.cwd(), tokenFile) : '';
    // Read now, so a missing file is an option error at once, and again on every connect (a rotated token).
    const readToken = (): string => {
      try {
        return readFileSync(tokenPath, 'utf8').trim();
      } catch (err) {
        throw new SpokeError(
          'ERR_BAD_OPTION',
          `Cannot read token-file=${tokenFile} (${tokenPath}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}. Check the path.`,
          { cause: err },
        );
      }
    };
    if (tokenFile) {
      // Refused when others may write it, a warning when they may read it (as OpenSSH treats keys).
      const warning = checkSecretFile(tokenPath, 'token-file=');
      if (warning) context.warn(warning);
      readToken();
    }
    return createSpokeDialer({
      url: `${plaintext ? 'ws' : 'wss'}://${uri.host}`,
      ...(tokenFile ? { token: readToken } : {}),
      tls,
      ...(agent ? { agent } : {}),
      ...(plaintext ? { insecurePlaintext: true } : {}),
      ...(context.via ? { via: context.via } : {}),
    });
  },
};
