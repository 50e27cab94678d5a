/** The pinned client-go version (from go/go.mod). */
export declare const CLIENT_GO_VERSION: string;
/** Builds the Go test client if needed; `path` is the binary. */
export declare function ensureGoClient(): { path: string; built: boolean; seconds: number };
