import net from 'node:net';
import { SpokeError, formatTarget, isLoopbackHost, type Logger, type Session, type TcpTarget } from '@spoke/transport-core';
import { createAllowList, parseAllowRule, splice, type AllowList } from '@spoke/transport-core/utils';
import { tokenIndex } from './auth.js';

// How long the client has to connect a reverse connection to its local target.
const REVERSE_DIAL_TIMEOUT_MS = 30_000;

/**
 * Reverse listeners (`spoke forward -R`, chisel's `R:`): a client asks the hub to listen on
 * the hub's side, and each connection accepted there becomes a stream the hub opens toward
 * that client's session. Off unless `allow` is given.
 */
export interface HubReverseOptions {
  /**
   * Addresses and ports clients may listen on, as allow rules `CIDR[:PORT[-PORT]]` or
   * `IP[:PORT[-PORT]]` (no host names). A bind address must itself fall in a rule: all
   * interfaces (`0.0.0.0`, `::`) only with a rule naming them, e.g. `0.0.0.0/32:8000-8999`.
   * Port 0 (any free port) needs a rule without a port range.
   */
  allow: readonly string[];
  /** Client tokens that may open listeners. Default: every authenticated client (token or certificate). */
  tokens?: readonly string[];
  /** Listeners one client session may hold. Default 8. */
  maxListenersPerClient?: number;
  /** Connections one listener carries at once; more are closed as accepted. Default 64. */
  maxConnectionsPerListener?: number;
}

/** {@link HubReverseOptions} checked, with defaults. */
export interface ResolvedReverseOptions {
  readonly allowList: AllowList;
  /** The rules without a port range: where port 0 (any free port) may be asked for. */
  readonly anyPort: AllowList;
  readonly tokens: readonly string[] | undefined;
  readonly maxListenersPerClient: number;
  readonly maxConnectionsPerListener: number;
}

/** Checks the reverse options (`ERR_BAD_OPTION`); undefined stays off. */
export function resolveReverseOptions(options: HubReverseOptions | undefined): ResolvedReverseOptions | undefined {
  if (options === undefined) return undefined;
  for (const text of options.allow) {
    if (parseAllowRule(text, 'reverse.allow').host !== undefined) {
      throw new SpokeError(
        'ERR_BAD_OPTION',
        `reverse.allow ${JSON.stringify(text)} names a host: reverse listeners bind addresses, give CIDR or IP rules.`,
      );
    }
  }
  if (options.allow.length === 0)
    throw new SpokeError('ERR_BAD_OPTION', 'reverse.allow is empty: give at least one CIDR[:PORT[-PORT]] rule, or leave reverse off.');
  if (options.tokens?.some((t) => t === '')) throw new SpokeError('ERR_BAD_OPTION', 'reverse.tokens has an empty token.');
  const { maxListenersPerClient = 8, maxConnectionsPerListener = 64 } = options;
  for (const [name, value] of [
    ['maxListenersPerClient', maxListenersPerClient],
    ['maxConnectionsPerListener', maxConnectionsPerListener],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 65_536)
      throw new SpokeError('ERR_BAD_OPTION', `reverse.${name} must be an integer from 1 to 65536, got ${value}.`);
  }
  const anyPort = options.allow.filter((text) => {
    const rule = parseAllowRule(text, 'reverse.allow');
    return rule.fromPort === 1 && rule.toPort === 65535;
  });
  return {
    allowList: createAllowList(options.allow, { who: 'the hub' }),
    anyPort: createAllowList(anyPort, { who: 'the hub' }),
    tokens: options.tokens,
    maxListenersPerClient,
    maxConnectionsPerListener,
  };
}

/** Whether the bearer token of a client's upgrade request may open listeners. */
export function mayListen(reverse: ResolvedReverseOptions | undefined, bearer: string | undefined): boolean {
  if (reverse === undefined) return false;
  return reverse.tokens === undefined || tokenIndex(bearer, reverse.tokens) >= 0;
}

/** One client session's listeners, and its requests still binding. */
interface ClientListeners {
  /** Each listener and what closes it (its accepted connections included). */
  servers: Map<net.Server, () => void>;
  binding: number;
}

/**
 * Opens the listeners client sessions ask for and dials their connections back on those
 * sessions; each closes with its session. Every limit is checked before anything binds.
 */
export class ReverseListeners {
  readonly #reverse: ResolvedReverseOptions | undefined;
  readonly #log: Logger;
  readonly #clients = new Map<Session, ClientListeners>();

  constructor(reverse: ResolvedReverseOptions | undefined, log: Logger) {
    this.#reverse = reverse;
    this.#log = log;
  }

  /** Listeners open now, every client together. */
  get size(): number {
    let n = 0;
    for (const client of this.#clients.values()) n += client.servers.size;
    return n;
  }

  /** A client's LISTEN: refuse (SpokeError) or bind and resolve to the bound `host:port`. */
  async open(session: Session, bind: TcpTarget, allowed: boolean, client: string): Promise<string> {
    const reverse = this.#reverse;
    const where = formatTarget(bind);
    const deny = (why: string): SpokeError => {
      this.#log.warn('reverse listener refused', { client, bind: where, why });
      return new SpokeError('ERR_DIAL_DENIED', `The hub refuses to listen on ${where}: ${why}.`);
    };
    if (reverse === undefined) throw deny('reverse listeners are off on this hub (start it with --allow-reverse)');
    if (!allowed) throw deny('this client’s credential may not open reverse listeners (--reverse-token-file)');
    if (bind.port === 0 ? !reverse.anyPort.allows(bind.host, 1) : !reverse.allowList.allows(bind.host, bind.port)) {
      const rules = reverse.allowList.rules.map((r) => r.text).join(', ');
      throw deny(`it is outside --allow-reverse (${rules})${bind.port === 0 ? '; port 0 needs a rule without a port range' : ''}`);
    }
    const mine = this.#clientOf(session);
    // Requests still binding count too: concurrent LISTENs must not pass the bound together.
    if (mine.servers.size + mine.binding >= reverse.maxListenersPerClient) {
      throw new SpokeError(
        'ERR_TOO_MANY_STREAMS',
        `This client holds ${reverse.maxListenersPerClient} reverse listeners already (the hub's --max-reverse-listeners).`,
      );
    }
    const server = net.createServer({ allowHalfOpen: true });
    server.maxConnections = reverse.maxConnectionsPerListener;
    mine.binding++;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          reject(new SpokeError('ERR_DIAL_REFUSED', `The hub cannot listen on ${where}: ${err.code ?? err.message}.`, { cause: err })),
        );
        server.listen(bind.port, bind.host, () => resolve());
      });
    } finally {
      mine.binding--;
    }
    const address = server.address() as net.AddressInfo;
    const bound = formatTarget({ host: address.address, port: address.port });
    if (session.state === 'closed') {
      server.close();
      throw new SpokeError('ERR_TUNNEL_CLOSED', 'The client session ended before its listener opened.');
    }
    const sockets = new Set<net.Socket>();
    server.on('drop', () => this.#log.warn('reverse connection refused: listener full', { bound, max: reverse.maxConnectionsPerListener }));
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      this.#carry(session, socket, bound);
    });
    server.on('error', (err) => this.#log.warn('reverse listener failed', { bound, error: err.message }));
    // Closed with the session (one 'close' listener per client, whatever the number of listeners).
    mine.servers.set(server, () => {
      server.close();
      for (const s of sockets) s.destroy();
      this.#log.info('reverse listener closed', { client, bound });
    });
    const exposure = isLoopbackHost(address.address) ? 'loopback' : 'network';
    this.#log.info('reverse listener opened', { client, bound, exposure });
    return bound;
  }

  /** Closes every listener now (the hub is going away). */
  closeAll(): void {
    for (const client of this.#clients.values()) for (const server of client.servers.keys()) server.close();
  }

  // The session's listeners, forgotten with the session (onListen runs only while it is open).
  #clientOf(session: Session): ClientListeners {
    let client = this.#clients.get(session);
    if (client === undefined) {
      const created: ClientListeners = { servers: new Map(), binding: 0 };
      this.#clients.set(session, created);
      session.once('close', () => {
        this.#clients.delete(session);
        for (const close of created.servers.values()) close();
      });
      client = created;
    }
    return client;
  }

  // One accepted connection: a stream toward the client, which connects it to what it chose.
  #carry(session: Session, socket: net.Socket, bound: string): void {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    session.dial(bound, { timeoutMs: REVERSE_DIAL_TIMEOUT_MS }).then(
      (stream) => {
        if (socket.destroyed) stream.destroy();
        else splice(socket, stream);
      },
      (err: unknown) => {
        this.#log.debug('reverse connection refused by the client', { bound, code: SpokeError.from(err).code });
        socket.resetAndDestroy();
      },
    );
  }
}
