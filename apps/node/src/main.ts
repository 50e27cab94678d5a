#!/usr/bin/env node
/**
 * `spoke-node CONFIG.yaml`: runs a kubelet-shaped node from a config file
 * until SIGINT/SIGTERM. See README.md for the file format.
 */
import { createLogger } from '@spoke/transport-core';
import { loadNodeConfig } from './config.js';
import { createNode } from './node.js';

async function main(argv: string[]): Promise<number> {
  const [path] = argv;
  if (!path || path === '--help' || path === '-h') {
    process.stderr.write(
      'usage: spoke-node CONFIG.yaml\n  Runs a kubelet-shaped HTTPS node (logs, exec, attach, port-forward) from CONFIG.yaml.\n',
    );
    return path ? 0 : 2;
  }
  const logger = createLogger({ level: process.env.SPOKE_LOG_LEVEL === 'debug' ? 'debug' : 'info' });
  const node = await createNode({ ...loadNodeConfig(path), logger }, { signal: AbortSignal.timeout(30_000) });
  process.stdout.write(
    `node ${node.name} serving the kubelet API on https://${node.host}:${node.port} (client certificates required); Ctrl-C to stop\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await node.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`spoke-node: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
