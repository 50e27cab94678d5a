/** What ensurePeers found or built for one tool. */
export interface BuiltPeer {
  version?: string;
  dir?: string;
  /** Binary name → path. */
  bins?: Record<string, string>;
  /** Why the tool is left out (toolchain missing, build failed). */
  skipped?: string;
}
/** Builds what is missing (progress on stderr) and reports every tool. */
export function ensurePeers(only?: string[]): Record<string, BuiltPeer>;
export const PEERS: Record<string, { version: string; toolchain: 'go' | 'cargo' }>;
