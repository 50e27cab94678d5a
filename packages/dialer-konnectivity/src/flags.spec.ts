import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAgentFlags, parseServerFlags } from './flags.js';
import { parseGoDuration } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'spoke-konn-flags-'));
const pem = join(dir, 'x.pem');
writeFileSync(pem, 'PEM');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('upstream flags', () => {
  it('parses Go durations', () => {
    expect(parseGoDuration('1h')).toBe(3_600_000);
    expect(parseGoDuration('1m30s')).toBe(90_000);
    expect(parseGoDuration('500ms')).toBe(500);
    expect(() => parseGoDuration('5 s')).toThrow(/duration such as/);
    expect(parseAgentFlags(['--keepalive-time=1m30s']).options.keepaliveTimeMs).toBe(90_000);
    expect(() => parseAgentFlags(['--sync-interval=5 s'])).toThrow(/--sync-interval takes a duration/);
  });

  it('maps proxy-server flags 1:1 and lists ignored upstream flags', () => {
    const { options, ignored } = parseServerFlags([
      '--mode=http-connect',
      '--uds-name',
      '/run/k.sock',
      '--server-port=0',
      `--cluster-cert=${pem}`,
      `--cluster-key=${pem}`,
      `--cluster-ca-cert=${pem}`,
      '--agent-port=8132',
      '--health-port=8133',
      '--server-count=3',
      '--proxy-strategies=destHost,default',
      '--backend-dial-timeout=5s',
      '--admin-port=8095',
      '--enable-profiling',
    ]);
    expect(options).toMatchObject({
      mode: 'http-connect',
      udsName: '/run/k.sock',
      serverPort: 0,
      agentPort: 8132,
      healthPort: 8133,
      serverCount: 3,
      proxyStrategies: ['destHost', 'default'],
      backendDialTimeoutMs: 5000,
      adminPort: 8095,
    });
    expect(options.clusterCaCert?.toString()).toBe('PEM');
    expect(ignored).toEqual(['--enable-profiling']);
  });

  it("turns on TokenReview with upstream's token-auth flags and their rules", () => {
    const base = [`--cluster-cert=${pem}`, `--cluster-key=${pem}`];
    const { options } = parseServerFlags([
      ...base,
      `--kubeconfig=${pem}`,
      '--agent-namespace=kube-system',
      '--agent-service-account=konnectivity-agent',
      '--authentication-audience=system:konnectivity-server',
    ]);
    expect(options.tokenReview).toEqual({
      kubeconfig: pem,
      namespace: 'kube-system',
      serviceAccount: 'konnectivity-agent',
      audience: 'system:konnectivity-server',
    });
    expect(() => parseServerFlags([...base, '--agent-namespace=ns', '--authentication-audience=a'])).toThrow(/--agent-service-account/);
    expect(() => parseServerFlags([...base, '--agent-namespace=ns', '--agent-service-account=sa'])).toThrow(/--authentication-audience/);
    expect(() => parseServerFlags([...base, '--agent-service-account=sa'])).toThrow(/--agent-namespace/);
    expect(() =>
      parseServerFlags([
        ...base,
        `--cluster-ca-cert=${pem}`,
        '--agent-namespace=ns',
        '--agent-service-account=sa',
        '--authentication-audience=a',
      ]),
    ).toThrow(/--cluster-ca-cert/);
    expect(() =>
      parseServerFlags([
        ...base,
        '--kubeconfig=/nonexistent',
        '--agent-namespace=ns',
        '--agent-service-account=sa',
        '--authentication-audience=a',
      ]),
    ).toThrow(/does not exist/);
    expect(parseServerFlags([...base, `--kubeconfig=${pem}`]).ignored).toEqual(['--kubeconfig']);
  });

  it("maps spoke's connection-limit flags and refuses counts below 1", () => {
    const base = [`--cluster-cert=${pem}`, `--cluster-key=${pem}`];
    const { options } = parseServerFlags([
      ...base,
      '--agent-max-connections=10',
      '--agent-max-connections-per-address=2',
      '--agent-max-concurrent-streams=5',
      '--server-max-connections=20',
      '--server-max-connections-per-address=4',
      '--pre-auth-timeout=1500ms',
    ]);
    expect(options).toMatchObject({
      agentMaxConnections: 10,
      agentMaxConnectionsPerAddress: 2,
      agentMaxConcurrentStreams: 5,
      serverMaxConnections: 20,
      serverMaxConnectionsPerAddress: 4,
      preAuthTimeoutMs: 1500,
    });
    expect(() => parseServerFlags([...base, '--agent-max-connections=0'])).toThrow(/--agent-max-connections must be at least 1/);
    expect(() => parseServerFlags([...base, '--pre-auth-timeout=soon'])).toThrow(/--pre-auth-timeout/);
  });

  it('rejects what upstream rejects', () => {
    expect(() => parseServerFlags([`--cluster-cert=${pem}`, `--cluster-key=${pem}`, '--agent-port=80'])).toThrow(/1024 and 49151/);
    expect(() => parseServerFlags(['--mode=grpc'])).toThrow(/cluster-cert/);
    expect(() => parseServerFlags(['--no-such-flag=1'])).toThrow(/Unknown flag/);
    expect(() => parseServerFlags([`--cluster-cert=${pem}`, `--cluster-key=${pem}`, '--proxy-strategies=nearest'])).toThrow(
      /unknown "nearest"/,
    );
  });

  it('maps proxy-agent flags, including the spoke --allow list', () => {
    const { options } = parseAgentFlags([
      '--proxy-server-host=k.example',
      '--proxy-server-port=8132',
      `--ca-cert=${pem}`,
      '--agent-id=a1',
      '--agent-identifiers=host=n1&ipv4=10.0.0.5',
      '--sync-interval=2s',
      '--sync-forever',
      '--allow=10.0.0.0/8:10250,127.0.0.1',
    ]);
    expect(options).toMatchObject({
      proxyServerHost: 'k.example',
      proxyServerPort: 8132,
      agentId: 'a1',
      agentIdentifiers: 'host=n1&ipv4=10.0.0.5',
      syncIntervalMs: 2000,
      syncForever: true,
      allow: ['10.0.0.0/8:10250', '127.0.0.1'],
    });
  });

  // The args of kubernetes-sigs/apiserver-network-proxy examples/kubernetes/*.yaml at 4f8517c (2026-08-21), paths
  // replaced by test files, and the agent flags of the kubernetes.io Konnectivity task.
  it("accepts every flag of upstream's examples/kubernetes manifests, honouring klog's --log-file", () => {
    const server = parseServerFlags([
      `--log-file=${join(dir, 'konnectivity-server.log')}`,
      '--logtostderr=false',
      '--log-file-max-size=0',
      '--uds-name=/etc/srv/kubernetes/konnectivity-server/konnectivity-server.socket',
      `--cluster-cert=${pem}`,
      `--cluster-key=${pem}`,
      '--server-port=0',
      '--agent-port=8091',
      '--health-port=8092',
      '--admin-port=8093',
      '--keepalive-time=1h',
      '--mode=http-connect',
      '--agent-namespace=kube-system',
      '--agent-service-account=konnectivity-agent',
      `--kubeconfig=${pem}`,
      '--authentication-audience=system:konnectivity-server',
    ]);
    expect(server.ignored).toEqual([]);
    expect(server.log).toEqual({ file: join(dir, 'konnectivity-server.log'), stderr: false });
    expect(server.options).toMatchObject({ mode: 'http-connect', adminPort: 8093, keepaliveTimeMs: 3_600_000 });
    const agent = parseAgentFlags([
      '--logtostderr=true',
      `--ca-cert=${pem}`,
      '--proxy-server-host=10.0.0.1',
      '--proxy-server-port=8091',
      `--service-account-token-path=${pem}`,
      '--admin-server-port=8133',
      '--health-server-port=8134',
    ]);
    expect(agent.ignored).toEqual([]);
    expect(agent.log).toEqual({ stderr: true });
    expect(agent.options).toMatchObject({ adminServerPort: 8133, healthServerPort: 8134 });
  });

  it("reads klog's output flags with underscores or dashes; klog's others and a log size cap are refused, not silently ignored", () => {
    const { ignored, log } = parseAgentFlags([
      '--log_file=/tmp/a.log',
      '--alsologtostderr',
      '--logtostderr=false',
      '--log-file-max-size=0',
    ]);
    expect(ignored).toEqual([]);
    expect(log).toEqual({ file: '/tmp/a.log', stderr: true });
    expect(() => parseAgentFlags(['--v=4'])).toThrow(/Unknown flag --v\./);
    expect(() => parseAgentFlags(['--vmodule=x=2'])).toThrow(/Unknown flag --vmodule/);
    expect(() => parseAgentFlags(['--log-file-max-size=100'])).toThrow(
      /--log-file-max-size=100: spoke appends to --log-file without a size cap/,
    );
    expect(parseServerFlags([`--cluster-cert=${pem}`, `--cluster-key=${pem}`, '--logtostderr=false']).log).toEqual({ stderr: true });
  });
});
