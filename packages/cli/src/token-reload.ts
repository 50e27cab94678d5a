import { unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Hub } from '@spoke/hub';
import type { Logger } from '@spoke/transport-core';

/** How often the token files are checked: a stat each, cheap enough to keep revocations prompt. */
const POLL_MS = 1000;

/** A token file a running hub follows: reading it and handing its tokens to the hub (`hub.setTokens`). */
export interface TokenSource {
  role: 'agent' | 'client';
  path: string;
  reload: () => void;
}

/**
 * Follows the hub's token files: when one changes (size, mtime or inode, as a rewrite or a rename shows),
 * `reload` reads it again and its tokens replace the role's; new connections use them, open sessions stay up.
 * A file that no longer reads (gone, malformed, no token) is logged and the previous tokens are kept.
 * Polled rather than watched by inotify, which loses track of files replaced by rename. Returns a stop function.
 */
export function followTokenFiles(sources: readonly TokenSource[], logger: Logger): () => void {
  for (const { role, path, reload } of sources) {
    watchFile(path, { interval: POLL_MS, persistent: false }, (now: Stats, before: Stats) => {
      if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
      try {
        reload();
        logger.info(`reloaded ${role} tokens`, { file: path });
      } catch (err) {
        logger.warn(`${role} token file not reloaded; the previous tokens stay in force`, { file: path, error: (err as Error).message });
      }
    });
  }
  return () => {
    for (const { path } of sources) unwatchFile(path);
  };
}

/** The sources for a hub's agent and client token files (either may be absent). */
export function hubTokenSources(
  hub: Pick<Hub, 'setTokens'>,
  agent: { path: string; read: () => NonNullable<Parameters<Hub['setTokens']>[0]['agentTokens']> } | undefined,
  client: { path: string; read: () => string[] } | undefined,
): TokenSource[] {
  return [
    ...(agent ? [{ role: 'agent' as const, path: agent.path, reload: () => hub.setTokens({ agentTokens: agent.read() }) }] : []),
    ...(client ? [{ role: 'client' as const, path: client.path, reload: () => hub.setTokens({ clientTokens: client.read() }) }] : []),
  ];
}
