/** The image name for this machine's Node version. */
export declare function baseImageName(): string;
/** Builds the base image (if podman does not have it yet); returns its name and whether this call built it. */
export declare function ensureBaseImage(): { image: string; built: boolean; seconds: number };
