import { readFile } from 'node:fs/promises';

/** TCP states as /proc/net/tcp prints them (include/net/tcp_states.h). */
export const TCP_STATE = { established: 0x01, synSent: 0x02, listen: 0x0a } as const;

/** One IPv4-loopback row of /proc/net/tcp or /proc/net/tcp6, reduced to what the test kit reads. */
export interface LoopbackTcpRow {
  state: number;
  localPort: number;
  /** 0 when the remote address is not 127.0.0.1 (a listener's is 0.0.0.0). */
  remotePort: number;
  /** For a listener: connections in its accept queue. */
  acceptQueue: number;
  /** For a connecting socket: SYNs the kernel has sent again because none was answered. */
  retransmits: number;
}

// 127.0.0.1 as /proc prints it (host byte order, little-endian here), plain and IPv4-mapped in tcp6.
const LOOPBACK_V4 = '0100007F';
const LOOPBACK_MAPPED = '0000000000000000FFFF00000100007F';

/**
 * Sockets of this network namespace (every process, not only ours) whose local
 * address is 127.0.0.1, plus the remote port when that is on 127.0.0.1 too.
 * Linux only: the hanging target observes the kernel's own view of connects.
 */
export async function loopbackTcpRows(): Promise<LoopbackTcpRow[]> {
  const rows: LoopbackTcpRow[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (file.endsWith('6')) continue; // a kernel without IPv6
      throw new Error(`The hanging target reads ${file} to see connection attempts, and that failed (Linux only): ${String(err)}`, {
        cause: err,
      });
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 7) continue;
      const local = address(f[1] as string);
      if (local === undefined) continue;
      const remote = address(f[2] as string);
      const queues = (f[4] as string).split(':');
      rows.push({
        state: parseInt(f[3] as string, 16),
        localPort: local,
        remotePort: remote ?? 0,
        acceptQueue: parseInt(queues[1] ?? '0', 16),
        retransmits: parseInt(f[6] as string, 16),
      });
    }
  }
  return rows;
}

/** The port of a `HEXADDR:HEXPORT` field when the address is 127.0.0.1. */
function address(field: string): number | undefined {
  const [ip, port] = field.split(':');
  if (ip !== LOOPBACK_V4 && ip !== LOOPBACK_MAPPED) return undefined;
  return parseInt(port ?? '', 16);
}
