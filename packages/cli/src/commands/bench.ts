import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { formatTarget, parseTarget, type Dialer, type Target } from '@spoke/transport-core';
import { booleanFlag, formatHelp, integerFlag, parseOrHelp, stringFlag, stringFlags, type OptionDefs } from '../args.js';
import type { Command } from '../command.js';
import { summaryOf } from './index.js';
import { VIA_OPTION, viaChain } from '../dialer-chain.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, inputStep } from '../errors.js';
import { formatBytes } from '../transfer-stats.js';
import { dialTimeoutMs } from './dial.js';

const OPTIONS: OptionDefs = {
  via: VIA_OPTION,
  target: {
    type: 'string',
    value: 'HOST:PORT',
    description: 'an echo service to measure against (default: one started here on 127.0.0.1)',
  },
  streams: { type: 'string', value: 'N', description: 'concurrent streams (default 4)' },
  bytes: { type: 'string', value: 'SIZE', description: 'bytes each stream sends and reads back, e.g. 64MiB (default 16MiB)' },
  'connect-timeout': { type: 'string', value: 'DURATION', description: 'bound on each dial (default 30s)' },
  json: { type: 'boolean', description: 'print the result as one JSON object' },
};

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };

/** Parses `65536`, `64KiB`, `16MiB`, `1GiB` (binary units; K/M/G accepted). */
export function parseSize(text: string, usage: string): number {
  const match = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = SIZE_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (!match || unit === undefined || Number(match[1]) === 0)
    throw new UsageError(`--bytes takes a size such as 65536, 64KiB or 16MiB, got ${JSON.stringify(text)}`, usage);
  return Number(match[1]) * unit;
}

/** What one stream measured. */
interface StreamResult {
  dialMs: number;
  roundTripMs: number;
  intact: boolean;
}

async function measure(dialer: Dialer, target: Target, bytes: number, timeoutMs: number, signal: AbortSignal): Promise<StreamResult> {
  const started = performance.now();
  const stream = await dialer.dial(target, { signal, timeoutMs });
  const dialMs = performance.now() - started;
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  const sentHash = createHash('sha256');
  const echoed = new Promise<string>((resolve, reject) => {
    const hash = createHash('sha256');
    let got = 0;
    stream.on('data', (c: Buffer) => {
      hash.update(c);
      got += c.length;
    });
    stream.once('end', () =>
      got === bytes ? resolve(hash.digest('hex')) : reject(new Error(`the echo returned ${got} of ${bytes} bytes`)),
    );
    stream.once('error', reject);
  });
  await writeAll(stream, chunk, bytes, sentHash);
  const back = await echoed;
  const roundTripMs = performance.now() - started - dialMs;
  stream.destroy();
  return { dialMs, roundTripMs, intact: back === sentHash.digest('hex') };
}

async function writeAll(stream: Duplex, chunk: Buffer, total: number, hash: ReturnType<typeof createHash>): Promise<void> {
  for (let sent = 0; sent < total;) {
    const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
    hash.update(piece);
    sent += piece.length;
    // events.once also rejects on 'error' and removes both listeners afterwards.
    if (!stream.write(piece)) await once(stream, 'drain');
  }
  stream.end();
}

/** `spoke bench [--via URI]... [--streams N] [--bytes SIZE]`: dial latency and echo throughput through the hops. */
export const benchCommand: Command = {
  name: 'bench',
  summary: summaryOf('bench'),
  help: ({ registry }) =>
    formatHelp(
      'spoke bench [--via URI]... [--target HOST:PORT] [--streams N] [--bytes SIZE] [--json]',
      'Opens --streams connections at once through the --via hops to an echo service, sends --bytes on\neach and reads them back (sha256-checked), then prints dial latency and throughput. Without\n--target it starts an echo service on 127.0.0.1 (reachable when the last hop runs on this machine).',
      OPTIONS,
      [
        [
          'Examples',
          'spoke bench --via ssh://ops@127.0.0.1 --streams 8 --bytes 64MiB\nspoke bench --via konnectivity+grpc+unix:///run/konnectivity.sock --target 10.0.0.5:7 --json',
        ],
        ['Dialer URIs', registry.usage()],
      ],
    ),
  async run(argv, context) {
    const parsed = parseOrHelp(argv, benchCommand, context, OPTIONS, { max: 0 });
    if (!parsed) return EXIT_OK;
    const { values, usage } = parsed;
    const streams = integerFlag(values, 'streams', 4, usage);
    const bytesText = stringFlag(values, 'bytes');
    const bytes = bytesText === undefined ? 16 * 1024 ** 2 : parseSize(bytesText, usage);
    const targetText = stringFlag(values, 'target');
    const dialer = viaChain(stringFlags(values, 'via'), context, usage);
    const timeoutMs = dialTimeoutMs(values, usage);
    // Without a target, an echo service of our own (allowHalfOpen: it ends after the sender does).
    const echo = targetText === undefined ? net.createServer({ allowHalfOpen: true }, (s) => s.on('error', () => {}).pipe(s)) : undefined;
    try {
      let target: Target;
      if (echo) {
        await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
        target = { host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port };
      } else target = inputStep(usage, () => parseTarget(targetText ?? ''));
      const started = performance.now();
      const results = await Promise.all(Array.from({ length: streams }, () => measure(dialer, target, bytes, timeoutMs, context.shutdown)));
      const seconds = (performance.now() - started) / 1000;
      const dials = results.map((r) => r.dialMs).sort((a, b) => a - b);
      const summary = {
        target: formatTarget(target),
        via: dialer.kind,
        streams,
        bytesPerStream: bytes,
        seconds: Number(seconds.toFixed(3)),
        mibPerSecondEachWay: Number(((streams * bytes) / 1024 ** 2 / seconds).toFixed(1)),
        dialMsP50: Number((dials[Math.floor(dials.length / 2)] ?? 0).toFixed(1)),
        dialMsMax: Number((dials[dials.length - 1] ?? 0).toFixed(1)),
        intact: results.every((r) => r.intact),
      };
      if (booleanFlag(values, 'json')) context.io.stdout.write(`${JSON.stringify(summary)}\n`);
      else {
        context.io.stdout.write(
          `spoke bench: ${streams} × ${formatBytes(bytes)} echoed via ${summary.via} to ${summary.target} in ${summary.seconds}s: ` +
            `${summary.mibPerSecondEachWay} MiB/s each way, dial p50 ${summary.dialMsP50} ms (max ${summary.dialMsMax} ms), data ${summary.intact ? 'intact' : 'CORRUPTED'}\n`,
        );
      }
      return summary.intact ? EXIT_OK : EXIT_FAILURE;
    } finally {
      echo?.close();
      await dialer.close().catch(() => {});
    }
  },
};
