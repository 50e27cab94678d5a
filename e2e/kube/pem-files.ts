import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes each PEM to `dir/<name>` (mode 0600, as the CLI requires of keys) and returns the paths by name. */
export function writePemFiles<K extends string>(dir: string, files: Record<K, string>): Record<K, string> {
  const paths = {} as Record<K, string>;
  for (const name of Object.keys(files) as K[]) {
    paths[name] = join(dir, name);
    writeFileSync(paths[name], files[name], { mode: 0o600 });
  }
  return paths;
}
