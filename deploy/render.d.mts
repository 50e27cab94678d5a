/** The chart, its values examples and the rendered manifests. */
export declare const CHART_DIR: string;
export declare const EXAMPLES_DIR: string;
export declare const MANIFESTS_DIR: string;
/** The release name and namespace the plain manifests are rendered for. */
export declare const RELEASE: string;
export declare const NAMESPACE: string;
/** The values examples, by name (file name without .yaml). */
export declare function exampleNames(): string[];
/** Runs helm and returns its stdout; throws with its stderr when it fails. */
export declare function helm(helmPath: string, args: readonly string[]): string;
/** One example's manifest file text. */
export declare function renderExample(helmPath: string, name: string): string;
/** Every manifest file: absolute path to text. */
export declare function renderManifests(helmPath: string): Map<string, string>;
/** The files whose content on disk differs from a fresh render (or that are missing, or left over). */
export declare function staleManifests(helmPath: string): string[];
