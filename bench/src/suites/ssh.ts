import type { BenchOptions } from '../options.js';
import type { Section } from '../report.js';

export async function runSshSuite(_options: BenchOptions): Promise<Section[]> {
  return [];
}
