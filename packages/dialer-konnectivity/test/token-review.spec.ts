import { writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAll, waitFor } from '@spoke/transport-core/testing';
import {
  createKonnectivityAgent,
  createKonnectivityDialer,
  type KonnectivityAgent,
  type KonnectivityServer,
  type TokenReviewOptions,
} from '../src/index.js';
import { ourServer } from './our-peers.js';
import { createTestPki, freePort, removePki, startUpstreamAgent, type Proc, type TestPki } from './upstream/harness.js';
import { addr, serveLineUpper } from './targets.js';

const AUDIENCE = 'system:konnectivity-server';
const AGENT_SA = 'system:serviceaccount:kube-system:konnectivity-agent';
// What the stand-in API server says about each agent token.
const TOKENS: Record<string, string | undefined> = {
  'sa-token-good': AGENT_SA,
  'sa-token-other-ns': 'system:serviceaccount:default:konnectivity-agent',
  'sa-token-other-sa': 'system:serviceaccount:kube-system:someone-else',
  'sa-token-revoked': undefined,
};
const API_TOKEN = 'api-server-credential';

interface ReviewSeen {
  token: string;
  audiences?: string[];
  clientAuth: 'cert' | 'token';
}

/**
 * A stand-in for kube-apiserver's TokenReview endpoint over real TLS: it
 * authenticates its caller (client certificate from the test CA, or the
 * bearer API token) as kube-apiserver would, then answers from TOKENS.
 */
async function startFakeApiServer(pki: TestPki): Promise<{ url: string; seen: ReviewSeen[]; close(): Promise<void> }> {
  const seen: ReviewSeen[] = [];
  const server = https.createServer(
    { cert: pki.serverCertPem, key: pki.serverKeyPem, ca: pki.caPem, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const clientAuth = (req.socket as TLSSocket).authorized
          ? 'cert'
          : req.headers.authorization === `Bearer ${API_TOKEN}`
            ? 'token'
            : undefined;
        res.setHeader('Content-Type', 'application/json');
        if (clientAuth === undefined) {
          res.statusCode = 401;
          return void res.end(JSON.stringify({ kind: 'Status', message: 'Unauthorized' }));
        }
        if (req.method !== 'POST' || req.url !== '/apis/authentication.k8s.io/v1/tokenreviews') {
          res.statusCode = 404;
          return void res.end(JSON.stringify({ kind: 'Status', message: 'not found' }));
        }
        const review = JSON.parse(Buffer.concat(chunks).toString()) as {
          apiVersion: string;
          kind: string;
          spec: { token: string; audiences?: string[] };
        };
        expect(review).toMatchObject({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview' });
        seen.push({ token: review.spec.token, ...(review.spec.audiences ? { audiences: review.spec.audiences } : {}), clientAuth });
        const username = TOKENS[review.spec.token];
        res.statusCode = 201;
        res.end(
          JSON.stringify({
            ...review,
            status: username
              ? // As kube-apiserver does: the spec's audiences the token was issued for.
                { authenticated: true, user: { username }, ...(review.spec.audiences ? { audiences: review.spec.audiences } : {}) }
              : { authenticated: false },
          }),
        );
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A kubectl-style YAML kubeconfig that reaches `url` with the test CA and the client certificate files. */
function yamlKubeconfig(pki: TestPki, url: string): string {
  const file = join(pki.dir, 'kubeconfig.yaml');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: ca.pem
    server: ${url}
  name: test
contexts:
- context:
    cluster: test
    user: konnectivity-server
  name: test
current-context: test
users:
- name: konnectivity-server
  user:
    client-certificate: client.pem
    client-key: client-key.pem
`,
  );
  return file;
}

/** A token file as kubelet projects it: no trailing newline (upstream's agent sends the bytes as they are, and gRPC refuses a newline in metadata). */
function tokenFile(pki: TestPki, token: string): string {
  const file = join(pki.dir, `${token}.jwt`);
  writeFileSync(file, token);
  return file;
}

/** Sends one line through the server's gRPC socket to an upper-casing target and returns the answer. */
async function lineThrough(uds: string, line: string): Promise<string> {
  const t = await serveLineUpper();
  const dialer = createKonnectivityDialer({ mode: 'grpc', uds });
  try {
    const s = await dialer.dial(addr(t), { signal: AbortSignal.timeout(10_000) });
    s.write(line);
    return (await readAll(s)).toString();
  } finally {
    await dialer.close();
    await t.close();
  }
}

describe('our server: agents authenticated by TokenReview', () => {
  let pki: TestPki;
  let api: Awaited<ReturnType<typeof startFakeApiServer>>;
  const logs: string[] = [];
  let server: KonnectivityServer;
  const agents: KonnectivityAgent[] = [];

  const startServer = (tokenReview: TokenReviewOptions, uds: string): Promise<KonnectivityServer> =>
    ourServer(pki, 'grpc', join(pki.dir, uds), { clusterCaCert: undefined, tokenReview, log: (m) => logs.push(m) });
  const agentWith = (token: string, agentLogs: string[] = []): KonnectivityAgent => {
    const a = createKonnectivityAgent({
      proxyServerPort: server.ports.agent,
      caCert: pki.caPem,
      serviceAccountTokenPath: tokenFile(pki, token),
      agentId: token.replace('sa-token-', 'id-'),
      log: (m) => agentLogs.push(m),
    });
    agents.push(a);
    return a;
  };

  beforeAll(async () => {
    pki = createTestPki();
    api = await startFakeApiServer(pki);
    server = await startServer(
      { kubeconfig: yamlKubeconfig(pki, api.url), namespace: 'kube-system', serviceAccount: 'konnectivity-agent', audience: AUDIENCE },
      'k.sock',
    );
  });

  afterAll(async () => {
    for (const a of agents) a.destroy();
    server?.destroy();
    await api?.close();
    removePki(pki);
  });

  it('accepts an agent with a valid service-account token and carries a dial; the audience and client certificate reach the API', async () => {
    const agent = agentWith('sa-token-good');
    await waitFor(() => agent.servers().length === 1, 'the agent with a valid token to connect');
    expect(api.seen).toContainEqual({ token: 'sa-token-good', audiences: [AUDIENCE], clientAuth: 'cert' });
    expect(await lineThrough(join(pki.dir, 'k.sock'), 'reviewed\n')).toBe('REVIEWED\n');
  });

  it.each([
    [
      'sa-token-other-ns',
      /"system:serviceaccount:default:konnectivity-agent", expected system:serviceaccount:kube-system:konnectivity-agent/,
    ],
    ['sa-token-other-sa', /"system:serviceaccount:kube-system:someone-else"/],
    ['sa-token-revoked', /token not authenticated/],
  ])('refuses %s with UNAUTHENTICATED, logs why without the token, counts it', async (token, why) => {
    const agentLogs: string[] = [];
    const agent = agentWith(token, agentLogs);
    await waitFor(() => agentLogs.some((l) => /rejected our credentials/.test(l)), `the agent with ${token} to be refused`);
    expect(agent.servers()).toEqual([]);
    const line = logs.find((l) => l.startsWith(`agent ${token.replace('sa-token-', 'id-')} refused:`));
    expect(line).toMatch(why);
    expect(logs.join('\n')).not.toContain('sa-token-');
    const metrics = server.metrics();
    expect(Number(/agent_auth_failures_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
    agent.destroy();
  });

  it('refuses agents with a clear log when the API server cannot be reached', async () => {
    const deadPort = await freePort();
    const localLogs: string[] = [];
    const down = await ourServer(pki, 'grpc', join(pki.dir, 'down.sock'), {
      clusterCaCert: undefined,
      log: (m) => localLogs.push(m),
      tokenReview: {
        kubeconfig: yamlKubeconfig(pki, `https://127.0.0.1:${deadPort}`),
        namespace: 'kube-system',
        serviceAccount: 'konnectivity-agent',
        audience: AUDIENCE,
        timeoutMs: 2000,
      },
    });
    const agentLogs: string[] = [];
    const agent = createKonnectivityAgent({
      proxyServerPort: down.ports.agent,
      caCert: pki.caPem,
      serviceAccountTokenPath: tokenFile(pki, 'sa-token-good'),
      log: (m) => agentLogs.push(m),
    });
    try {
      await waitFor(
        () => localLogs.some((l) => /refused: token review at https:\/\/127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/.test(l)),
        'the review failure to be logged',
      );
      await waitFor(() => agentLogs.some((l) => /unavailable/.test(l)), 'the agent to see the refusal');
      expect(agent.servers()).toEqual([]);
      expect(down.agents).toBe(0);
      expect(localLogs.join('\n')).not.toContain('sa-token-good');
    } finally {
      agent.destroy();
      down.destroy();
    }
  });

  it('bounds a review by timeoutMs when the API server accepts but never answers', async () => {
    const held = new Set<net.Socket>();
    const silent = net.createServer((sock) => held.add(sock));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const localLogs: string[] = [];
    const slow = await ourServer(pki, 'grpc', join(pki.dir, 'slow.sock'), {
      clusterCaCert: undefined,
      log: (m) => localLogs.push(m),
      tokenReview: {
        kubeconfig: yamlKubeconfig(pki, `https://127.0.0.1:${(silent.address() as AddressInfo).port}`),
        namespace: 'kube-system',
        serviceAccount: 'konnectivity-agent',
        timeoutMs: 300,
      },
    });
    const agent = createKonnectivityAgent({
      proxyServerPort: slow.ports.agent,
      caCert: pki.caPem,
      serviceAccountTokenPath: tokenFile(pki, 'sa-token-good'),
    });
    try {
      await waitFor(() => localLogs.some((l) => /token review at .* failed: no answer in time/.test(l)), 'the review to time out');
      expect(slow.agents).toBe(0);
    } finally {
      agent.destroy();
      slow.destroy();
      for (const sock of held) sock.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('our server ↔ Go proxy-agent with --service-account-token-path (TokenReview)', () => {
  let pki: TestPki;
  let api: Awaited<ReturnType<typeof startFakeApiServer>>;
  let server: KonnectivityServer;
  let goAgent: { proc: Proc } | undefined;

  beforeAll(async () => {
    pki = createTestPki();
    api = await startFakeApiServer(pki);
    // JSON form, API credential as a token file (the other kubeconfig paths).
    const kubeconfig = join(pki.dir, 'kubeconfig.json');
    writeFileSync(join(pki.dir, 'api-token'), API_TOKEN);
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        'current-context': 'c',
        contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
        clusters: [{ name: 'k', cluster: { server: api.url, 'certificate-authority-data': Buffer.from(pki.caPem).toString('base64') } }],
        users: [{ name: 'u', user: { tokenFile: 'api-token' } }],
      }),
    );
    server = await ourServer(pki, 'grpc', join(pki.dir, 'k.sock'), {
      clusterCaCert: undefined,
      tokenReview: { kubeconfig, namespace: 'kube-system', serviceAccount: 'konnectivity-agent', audience: AUDIENCE },
    });
  });

  afterAll(async () => {
    await goAgent?.proc.kill();
    server?.destroy();
    await api?.close();
    removePki(pki);
  });

  it('authenticates the Go agent and carries our client through it', async () => {
    goAgent = await startUpstreamAgent({
      agentPort: server.ports.agent,
      pki,
      agentId: 'go-agent',
      extraArgs: [`--service-account-token-path=${tokenFile(pki, 'sa-token-good')}`],
    });
    await waitFor(() => server.agents === 1, 'the Go agent to be accepted', 20_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\nreviews: ${JSON.stringify(api.seen)}\n${goAgent?.proc.output().slice(-3000)}`);
    });
    expect(api.seen).toContainEqual({ token: 'sa-token-good', audiences: [AUDIENCE], clientAuth: 'token' });
    expect(await lineThrough(join(pki.dir, 'k.sock'), 'go agent reviewed\n')).toBe('GO AGENT REVIEWED\n');
  });

  it('the Go agent with a token of another service account is refused', async () => {
    const other = await startUpstreamAgent({
      agentPort: server.ports.agent,
      pki,
      agentId: 'go-agent-2',
      extraArgs: [`--service-account-token-path=${tokenFile(pki, 'sa-token-other-sa')}`],
    });
    try {
      await waitFor(() => api.seen.some((s) => s.token === 'sa-token-other-sa'), 'the second Go agent to be reviewed', 20_000);
      // The Go agent reads headers first; a refused stream has none (as with upstream's server), so this is what it logs.
      await waitFor(
        () => /expected one server ID in the context, got \[\]/.test(other.proc.output()),
        'the Go agent to log the refusal',
        20_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${other.proc.output().slice(-1500)}`);
      });
      expect(server.agents).toBe(1);
    } finally {
      await other.proc.kill();
    }
  });
});
