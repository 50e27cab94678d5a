/** The helm release the chart is linted and rendered with. */
export declare const HELM_VERSION: string;
/** Where the binary lives once built. */
export declare function helmPath(): string;
/** Builds helm (if needed); returns its path and whether this call built it. */
export declare function ensureHelm(): { path: string; built: boolean; seconds: number };
