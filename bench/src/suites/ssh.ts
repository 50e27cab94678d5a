import { createSshDialer } from '@spoke/dialer-ssh';
import { tcpOpener, type Opener } from '../client.js';
import { compareThroughput, formatThroughput, parallelStreams, singleStream, type Contender } from '../measure.js';
import type { BenchOptions } from '../options.js';
import { startChild } from '../proc.js';
import type { Row, Section } from '../report.js';
import { startBenchSshd, startOpenSshForward, type OpenSshForward } from '../sshd.js';

const MiB = 1024 * 1024;

/**
 * Issue 6: bulk through `@spoke/dialer-ssh` (ssh2, in this process) against
 * OpenSSH `ssh -N -L` (its own process) into the same sshd, in the same run.
 * OpenSSH is measured twice: with its default cipher and with the cipher ssh2
 * negotiated, so that one comparison is like for like.
 */
export async function runSshSuite(o: BenchOptions): Promise<Section[]> {
  const sshd = await startBenchSshd();
  const target = await startChild('target');
  const targetPort = Number(target.info['port']);
  const dialer = createSshDialer({
    host: '127.0.0.1',
    port: sshd.port,
    username: sshd.username,
    privateKeyFile: sshd.keyFile,
    knownHostsFile: sshd.knownHostsFile,
    idleTimeoutMs: 0,
  });
  const forwards: OpenSshForward[] = [];
  try {
    await dialer.connect({ signal: AbortSignal.timeout(20_000) });
    const ssh2Cipher = await sshd.nextCipher();
    const opensshDefault = await startOpenSshForward(sshd, targetPort);
    forwards.push(opensshDefault);
    await sshd.nextCipher();
    const opensshSame = await startOpenSshForward(sshd, targetPort, ['-c', ssh2Cipher]);
    forwards.push(opensshSame);
    await sshd.nextCipher();

    const ssh2: Opener = () => dialer.dial({ host: '127.0.0.1', port: targetPort }, { signal: AbortSignal.timeout(20_000) });
    const label = {
      ssh2: `@spoke/dialer-ssh (${ssh2Cipher})`,
      osshDefault: `ssh -L (${opensshDefault.cipher})`,
      osshSame: `ssh -L (${opensshSame.cipher})`,
    };
    const rows: Row[] = [];
    const compare = async (name: string, make: (label: string, open: Opener) => Contender): Promise<void> => {
      const [same, byDefault, ours] = await compareThroughput(
        [
          make(label.osshSame, tcpOpener(opensshSame.port)),
          make(label.osshDefault, tcpOpener(opensshDefault.port)),
          make(label.ssh2, ssh2),
        ],
        o.bytes,
        o.reps,
      );
      if (!same || !byDefault || !ours) throw new Error('missing throughput result');
      rows.push(
        {
          name: `${name}, same cipher`,
          baseline: `${same.label} ${formatThroughput(same)}`,
          subject: `${ours.label} ${formatThroughput(ours)}`,
          ratio: ours.mibps / same.mibps,
          goal: { op: '>=', value: 0.9 },
        },
        {
          name: `${name}, OpenSSH default cipher`,
          baseline: `${byDefault.label} ${formatThroughput(byDefault)}`,
          subject: `${ours.label} ${formatThroughput(ours)}`,
          ratio: ours.mibps / byDefault.mibps,
        },
      );
    };
    for (const direction of ['push', 'pull'] as const) {
      await compare(`ssh bulk ${direction}, 1 channel`, (l, open) => singleStream(l, open, direction));
    }
    await compare(`ssh bulk push, ${o.parallel} channels on one connection`, (l, open) => parallelStreams(l, open, 'push', o.parallel));
    return [
      {
        title: 'SSH: @spoke/dialer-ssh vs OpenSSH ssh -N -L, same sshd',
        rows,
        notes: [
          `client → sshd (OpenSSH_9.2 on 127.0.0.1) → target; ssh2 runs in the client process, ssh -L in its own; ${o.bytes / MiB} MiB per run in 64 KiB writes, median of ${o.reps}`,
          `negotiated client→server ciphers (from sshd's log and ssh -v): ssh2 ${ssh2Cipher}, OpenSSH default ${opensshDefault.cipher}, OpenSSH -c ${ssh2Cipher} → ${opensshSame.cipher}`,
          `the ${o.parallel}-channel rows share one SSH connection on both sides (ssh2's pooled connection; one ssh -L process)`,
        ],
      },
    ];
  } finally {
    await dialer.close().catch(() => {});
    for (const f of forwards) await f.stop();
    await target.stop();
    await sshd.stop();
  }
}
