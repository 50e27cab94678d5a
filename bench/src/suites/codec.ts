import { Packr } from 'msgpackr';
import { decodeFrame, encodeDataHeader, encodeFrame } from '@spoke/transport-core/protocol';
import type { BenchOptions } from '../options.js';
import type { Row, Section } from '../report.js';
import { median, num } from '../stats.js';

// The options transport-core's codec uses for its control frames (plain maps, no records).
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' });

const SIZES = [64, 1024, 16 * 1024, 64 * 1024];

interface Codec {
  label: string;
  /** Encodes and decodes one DATA frame; returns the decoded payload length (kept so nothing is optimised away). */
  roundTrip(stream: number, payload: Buffer): number;
}

const codecs: Codec[] = [
  {
    // What PROTOCOL.md §2 rejected: the DATA frame as a MessagePack map {s, d} (type byte left out, in its favour).
    label: 'msgpack {s, d}',
    roundTrip(stream, payload) {
      const wire = packr.pack({ s: stream, d: payload });
      const frame = packr.unpack(wire) as { s: number; d: Buffer };
      return frame.d.length + frame.s;
    },
  },
  {
    // The WebSocket carrier's path: one contiguous frame (payload copied behind the 5-byte header).
    label: 'binary, whole frame',
    roundTrip(stream, payload) {
      const frame = decodeFrame(encodeFrame({ type: 'DATA', stream, data: payload }));
      return frame.type === 'DATA' ? frame.data.length + frame.stream : 0;
    },
  },
];

// The byte-stream carrier's path: only the 5-byte header is built (the payload is written as is);
// decoding a received frame is the same as above.
function headerOnly(stream: number, frameOnWire: Buffer): number {
  const header = encodeDataHeader(stream);
  const frame = decodeFrame(frameOnWire);
  return header.length + (frame.type === 'DATA' ? frame.data.length : 0);
}

/** Operations per second of `fn`, run for about `ms` milliseconds. */
function opsPerSecond(fn: () => number, ms: number): number {
  let sink = 0;
  let ops = 0;
  const t0 = performance.now();
  let now = t0;
  while (now - t0 < ms) {
    for (let i = 0; i < 256; i++) sink += fn();
    ops += 256;
    now = performance.now();
  }
  if (sink === -1) console.log(sink);
  return (ops * 1000) / (now - t0);
}

/** DATA frame encode+decode: MessagePack map vs the fixed binary header (PROTOCOL.md §2 "Why DATA is binary"). */
export function runCodecSuite(o: BenchOptions): Section[] {
  const rows: Row[] = [];
  const rounds = o.quick ? 3 : 5;
  for (const size of SIZES) {
    const payload = Buffer.alloc(size, 0x42);
    const wireFrame = encodeFrame({ type: 'DATA', stream: 7, data: payload });
    const fns = [() => codecs[0]?.roundTrip(7, payload) ?? 0, () => codecs[1]?.roundTrip(7, payload) ?? 0, () => headerOnly(7, wireFrame)];
    for (const fn of fns) opsPerSecond(fn, o.codecMs / 4);
    const samples = fns.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) for (const [i, fn] of fns.entries()) samples[i]?.push(opsPerSecond(fn, o.codecMs));
    const [mp, whole, header] = samples.map((s) => median(s)) as [number, number, number];
    const fmt = (ops: number): string => `${num(ops / 1000)} k/s (${num((ops * size) / 1024 ** 3, 1)} GiB/s)`;
    const label = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
    rows.push(
      {
        name: `DATA ${label}: encode+decode, binary whole frame`,
        baseline: `msgpack {s, d} ${fmt(mp)}`,
        subject: fmt(whole),
        ratio: whole / mp,
      },
      {
        name: `DATA ${label}: header only + decode (byte-stream carrier)`,
        baseline: `msgpack {s, d} ${fmt(mp)}`,
        subject: `${num(header / 1000)} k/s`,
        ratio: header / mp,
      },
    );
  }
  return [
    {
      title: 'codec micro-benchmark: DATA frame encode+decode (higher is better)',
      rows,
      notes: [
        `median of ${rounds} rounds of ${o.codecMs} ms each, in this process; msgpackr ${packr.constructor.name} with transport-core's options (useRecords: false, mapsAsObjects: true)`,
        'msgpack decodes bin values as views and encodeFrame copies the payload, so for large frames both are dominated by one memcpy; the header-only path skips it',
      ],
    },
  ];
}
