/**
 * A stand-in for `spoke dial HOST PORT --via URI...` until the CLI exists:
 * dials HOST:PORT through the given hops and pipes stdin/stdout to the stream,
 * which is what OpenSSH's ProxyCommand expects.
 *
 *   node --conditions=@spoke/source --import ../../scripts/ts-register.mjs test/proxy-command.ts [--via URI]... HOST PORT
 */
import { createDialerRegistry, formatTarget, parseTarget } from '@spoke/transport-core';
import { sshScheme } from '@spoke/dialer-ssh';

const args = process.argv.slice(2);
const via: string[] = [];
const rest: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--via') via.push(args[++i] ?? '');
  else rest.push(args[i] ?? '');
}
const [host, port] = rest;
if (!host || !port) {
  process.stderr.write('usage: proxy-command [--via URI]... HOST PORT\n');
  process.exit(2);
}

const dialer = createDialerRegistry([sshScheme]).chain(via, { warn: (m) => process.stderr.write(`${m}\n`) });
const target = parseTarget(host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
try {
  const stream = await dialer.dial(target, { signal: AbortSignal.timeout(20_000) });
  process.stdin.pipe(stream);
  stream.pipe(process.stdout);
  stream.on('error', (err) => {
    process.stderr.write(`proxy-command: ${formatTarget(target)}: ${err.message}\n`);
    process.exit(1);
  });
  // ssh closes our stdout when done; finish when the stream does.
  stream.on('close', () => void dialer.close().then(() => process.exit(0)));
} catch (err) {
  process.stderr.write(`proxy-command: ${(err as Error).message}\n`);
  process.exit(1);
}
