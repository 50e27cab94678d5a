/** The pinned upstream version (from go/go.mod). */
export declare const UPSTREAM_VERSION: string;
/** Names of the binaries in the bin directory. */
export declare const BINARIES: { server: string; agent: string; client: string };
/** Where the upstream binaries are, and whether this call built them. */
export interface UpstreamBinaries {
  dir: string;
  server: string;
  agent: string;
  client: string;
  built: boolean;
  seconds: number;
}
/** Builds (if needed) and returns the binaries' paths. */
export declare function ensureUpstreamBinaries(): UpstreamBinaries;
