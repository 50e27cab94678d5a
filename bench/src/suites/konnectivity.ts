import type { BenchOptions } from '../options.js';
import type { Section } from '../report.js';

/**
 * Issue 7's row (our Konnectivity server+agent vs upstream's, and vs the
 * spoke/1 hub path) runs only once `@spoke/dialer-konnectivity` exports a
 * server and an agent; until then it reports why it was skipped.
 */
export async function runKonnectivitySuite(_options: BenchOptions): Promise<Section[]> {
  let exported: string[];
  try {
    exported = Object.keys(await import('@spoke/dialer-konnectivity'));
  } catch (err) {
    return [skipped(`@spoke/dialer-konnectivity does not load from source: ${(err as Error).message.split('\n')[0] ?? ''}`)];
  }
  const server = exported.find((k) => /^create\w*Server$/.test(k));
  const agent = exported.find((k) => /^create\w*Agent$/.test(k));
  if (server === undefined || agent === undefined) {
    return [skipped(`@spoke/dialer-konnectivity exports no server and agent yet (exports: ${exported.join(', ')})`)];
  }
  return [skipped(`@spoke/dialer-konnectivity now exports ${server} and ${agent}; this row is not written yet`)];
}

function skipped(why: string): Section {
  return { title: 'Konnectivity: our server+agent vs upstream Go server+agent (issue 7)', rows: [], notes: [`skipped: ${why}`] };
}
