import { SpokeError, dialTarget, dialerClosedError, type Dialer } from '@spoke/transport-core';
import { deadlineSignal } from '@spoke/transport-core/utils';
import { createSshDialer, type SshDialer, type SshDialerOptions } from './ssh-dialer.js';

/** The routed dialer's name in errors (`hop`) and its `kind`. */
const HOP = 'ssh-tunnels';

/** One node of a {@link SshTunnelSet}: where it is and how to log in. */
export interface SshTunnelNode extends Omit<SshDialerOptions, 'host'> {
  /** Unique node name (the key `update()` reconciles on). */
  name: string;
  /** The node's address. Targets whose host equals it go through this node's tunnel. */
  address: string;
  /** SSH server to connect to, if not `address` (e.g. a NAT or test mapping). */
  host?: string;
}

/** Health checking of a {@link SshTunnelSet}. */
export interface SshHealthCheck {
  /** Time between rounds. Default 60000 ms. */
  intervalMs?: number;
  /** Bound on one probe. Default 10000 ms. */
  timeoutMs?: number;
  /**
   * Checks one tunnel, e.g. an HTTP GET of the kubelet's /healthz through `dialer`.
   * Rejecting (or exceeding timeoutMs) marks the tunnel unhealthy: it is closed and replaced.
   */
  probe(dialer: Dialer, signal: AbortSignal): Promise<void>;
}

/** Something that happened to a tunnel, for logs and metrics. */
export type SshTunnelEvent =
  | { type: 'added' | 'removed'; name: string }
  | { type: 'replaced'; name: string; error: SpokeError }
  | { type: 'fallback'; name: string; target: string };

/** Options of {@link createSshTunnelSet}. */
export interface SshTunnelSetOptions {
  nodes: readonly SshTunnelNode[];
  healthCheck?: SshHealthCheck;
  /** What to do with a target no node's address matches: `'none'` fails with ERR_NO_ROUTE (default), `'random'` uses any tunnel. */
  fallback?: 'none' | 'random';
  /** Called for every tunnel event. */
  onEvent?: (event: SshTunnelEvent) => void;
}

/** The state of one tunnel, as reported by {@link SshTunnelSet.tunnels}. */
export interface SshTunnelInfo {
  name: string;
  address: string;
  hop: string;
  /** How many times the health check replaced this tunnel. */
  replacements: number;
  lastError?: SpokeError;
}

/** One SSH tunnel per node, health-checked, with a dialer that routes by node address. */
export interface SshTunnelSet {
  /** Reconciles to `nodes`: opens tunnels for new nodes, closes removed ones, replaces changed ones. */
  update(nodes: readonly SshTunnelNode[]): Promise<void>;
  /** A Dialer routing each target to the tunnel of the node whose address is the target's host. */
  dialer(): Dialer;
  /** The current tunnels. */
  tunnels(): SshTunnelInfo[];
  /** Runs one health-check round now (the periodic timer runs the same). */
  check(options?: { signal?: AbortSignal }): Promise<void>;
  /** Stops health checks and closes every tunnel. */
  close(): Promise<void>;
}

interface Entry {
  node: SshTunnelNode;
  key: string;
  dialer: SshDialer;
  replacements: number;
  lastError?: SpokeError;
}

/**
 * Keeps one SSH tunnel per node, like the Kubernetes API server's SSH
 * tunneler, but with host keys verified and without silent random routing.
 *
 * @example
 * ```ts
 * const set = createSshTunnelSet({
 *   nodes: [{ name: 'node-1', address: '10.0.0.11', username: 'ops', privateKeyFile: 'id', knownHostsFile: 'known_hosts' }],
 *   healthCheck: { intervalMs: 60_000, probe: async (d, signal) => (await d.dial('127.0.0.1:10255', { signal })).destroy() },
 * });
 * const s = await set.dialer().dial('10.0.0.11:10250', { signal: AbortSignal.timeout(10_000) });
 * ```
 */
export function createSshTunnelSet(options: SshTunnelSetOptions): SshTunnelSet {
  const fallback = options.fallback ?? 'none';
  if (fallback !== 'none' && fallback !== 'random')
    throw new SpokeError('ERR_BAD_OPTION', `fallback must be 'none' or 'random', got ${JSON.stringify(fallback)}.`);
  const emit = (e: SshTunnelEvent): void => {
    try {
      options.onEvent?.(e);
    } catch {
      // An event consumer must not break routing.
    }
  };
  const entries = new Map<string, Entry>();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<void> | undefined;

  const open = (node: SshTunnelNode): SshDialer => {
    const { name: _name, address, host, ...ssh } = node;
    return createSshDialer({ ...ssh, host: host ?? address });
  };

  // Synchronous so that invalid nodes throw from createSshTunnelSet itself; returns the closes to await.
  const reconcile = (nodes: readonly SshTunnelNode[]): Promise<void>[] => {
    if (closed) throw closedError();
    const names = new Set<string>();
    for (const n of nodes) {
      if (typeof n.name !== 'string' || n.name === '' || names.has(n.name))
        throw new SpokeError('ERR_BAD_OPTION', `Every tunnel node needs a unique name; got ${JSON.stringify(n.name)}.`);
      if (typeof n.address !== 'string' || n.address === '')
        throw new SpokeError('ERR_BAD_OPTION', `Tunnel node ${n.name} needs an address.`);
      names.add(n.name);
    }
    const closing: Promise<void>[] = [];
    for (const [name, e] of entries) {
      if (!names.has(name)) {
        entries.delete(name);
        closing.push(e.dialer.close());
        emit({ type: 'removed', name });
      }
    }
    for (const node of nodes) {
      const key = nodeKey(node);
      const old = entries.get(node.name);
      if (old?.key === key) continue;
      if (old) closing.push(old.dialer.close());
      entries.set(node.name, { node, key, dialer: open(node), replacements: 0 });
      emit({ type: 'added', name: node.name });
    }
    return closing;
  };
  const update = async (nodes: readonly SshTunnelNode[]): Promise<void> => {
    await Promise.all(reconcile(nodes));
  };

  const probeOne = async (e: Entry, hc: SshHealthCheck, outer?: AbortSignal): Promise<void> => {
    const deadline = deadlineSignal(hc.timeoutMs ?? 10_000, ...(outer ? [outer] : []));
    try {
      await hc.probe(e.dialer, deadline.signal);
    } catch (err) {
      if (outer?.aborted || closed || entries.get(e.node.name) !== e) return;
      const error =
        err instanceof SpokeError
          ? err
          : new SpokeError(
              'ERR_TUNNEL_CLOSED',
              `The health check of tunnel ${e.node.name} (${e.dialer.hop}) failed: ${(err as Error)?.message ?? String(err)}. The tunnel is being replaced.`,
              { cause: err, hop: e.dialer.hop },
            );
      // Replace: a new connection is opened lazily on the next dial or probe.
      void e.dialer.close();
      e.dialer = open(e.node);
      e.replacements++;
      e.lastError = error;
      emit({ type: 'replaced', name: e.node.name, error });
    } finally {
      deadline.clear();
    }
  };

  const check = async (opts: { signal?: AbortSignal } = {}): Promise<void> => {
    const hc = options.healthCheck;
    if (!hc || closed) return;
    await Promise.all([...entries.values()].map((e) => probeOne(e, hc, opts.signal)));
  };

  const routed: Dialer = {
    kind: HOP,
    // async: a bad target or a closed dialer becomes a rejection, never a synchronous throw.
    dial(input, dialOptions) {
      return dialTarget(
        input,
        dialOptions,
        HOP,
        () => closed,
        (target, signal) => {
          const host = 'path' in target ? undefined : target.host;
          let entry = [...entries.values()].find((e) => e.node.address === host);
          if (!entry && fallback === 'random' && entries.size > 0) {
            const all = [...entries.values()];
            entry = all[Math.floor(Math.random() * all.length)];
            if (entry) emit({ type: 'fallback', name: entry.node.name, target: typeof input === 'string' ? input : JSON.stringify(input) });
          }
          if (!entry) {
            throw new SpokeError(
              'ERR_NO_ROUTE',
              `No SSH tunnel serves ${'path' in target ? `unix:${target.path}` : target.host}: known node addresses are ${[...entries.values()].map((e) => e.node.address).join(', ') || 'none'}. ` +
                "Dial a node's own address, add the node, or set fallback: 'random'.",
              { target, hop: HOP },
            );
          }
          return entry.dialer.dial(target, { signal });
        },
      );
    },
    close: () => set.close(),
  };

  const set: SshTunnelSet = {
    update,
    dialer: () => routed,
    tunnels: () =>
      [...entries.values()].map((e) => ({
        name: e.node.name,
        address: e.node.address,
        hop: e.dialer.hop,
        replacements: e.replacements,
        ...(e.lastError ? { lastError: e.lastError } : {}),
      })),
    check,
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      await checking;
      const all = [...entries.values()];
      entries.clear();
      await Promise.all(all.map((e) => e.dialer.close()));
    },
  };

  // Nothing is open yet, so there are no closes to wait for.
  void reconcile(options.nodes);
  const hc = options.healthCheck;
  if (hc) {
    const every = hc.intervalMs ?? 60_000;
    if (!(every > 0)) throw new SpokeError('ERR_BAD_OPTION', `healthCheck.intervalMs must be > 0, got ${String(hc.intervalMs)}.`);
    timer = setInterval(() => {
      // One round at a time: a slow round delays the next rather than piling up.
      if (checking) return;
      checking = check().finally(() => (checking = undefined));
    }, every);
    timer.unref();
  }
  return set;
}

// The same words dialTarget uses when a dial comes after close().
function closedError(): SpokeError {
  return dialerClosedError(`${HOP} dialer`, { hop: HOP });
}

// Options decide whether a node changed; functions and agent objects compare by presence only.
function nodeKey(node: SshTunnelNode): string {
  return JSON.stringify(node, (_k, v: unknown) => (typeof v === 'function' ? 'fn' : v));
}
