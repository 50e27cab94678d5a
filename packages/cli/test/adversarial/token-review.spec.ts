import type { ServerResponse } from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { konnectivityEcho, startKonnectivityRig, type KonnectivityRig } from './support/konnectivity-rig.js';
import { MiB, during, mib, sample } from './support/victim.js';

// TokenReview with a hostile API server, against the real `spoke konnectivity server
// --authentication-audience ...`: the API server it asks about agent tokens answers with huge bodies,
// bodies that never end, things that are not TokenReviews, and `authenticated: true` for another user
// or for another audience. The bound: every such agent stream is refused (UNAUTHENTICATED or
// UNAVAILABLE) within the review timeout, the server's RSS stays within RSS_BOUND, a huge answer is cut
// after little more than 1 MiB, and an agent with a good token still connects and carries dials.

const AUDIENCE = 'system:konnectivity-server';
const AGENT_SA = 'system:serviceaccount:kube-system:konnectivity-agent';
const RSS_BOUND = 64 * MiB;
/** The server's TokenReview timeout (10 s, no flag) and slack for a loaded machine. */
const REVIEW_BOUND_MS = 15_000;

type Answer = (res: ServerResponse, audiences: unknown) => void;

const json =
  (body: unknown): Answer =>
  (res) =>
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const review = (status: Record<string, unknown>): Answer => json({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', status });

/** What the hostile API server answers for each agent token; bytes it managed to send for `huge`. */
const sentHuge = { bytes: 0, closed: false };
const ANSWERS: Record<string, Answer> = {
  good: (res, audiences) => review({ authenticated: true, user: { username: AGENT_SA }, audiences })(res, audiences),
  'other-user': review({ authenticated: true, user: { username: 'system:serviceaccount:default:attacker' }, audiences: [AUDIENCE] }),
  'other-audience': review({ authenticated: true, user: { username: AGENT_SA }, audiences: ['https://kubernetes.default.svc'] }),
  'no-audience': review({ authenticated: true, user: { username: AGENT_SA } }),
  'string-true': review({ authenticated: 'true', user: { username: AGENT_SA }, audiences: [AUDIENCE] }),
  'status-not-object': json({ status: 'authenticated' }),
  'json-null': json(null),
  'not-json': (res) => res.writeHead(201).end('<html>hello</html>'),
  // 512 MiB as fast as the server takes it: a reader that buffers it all holds all of it.
  huge: (res) => {
    res.writeHead(201, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(MiB, 'a');
    res.write('{"status":{"error":"');
    const pump = (): void => {
      while (!res.destroyed && sentHuge.bytes < 512 * MiB) {
        sentHuge.bytes += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.once('close', () => (sentHuge.closed = true));
    pump();
  },
  // Headers, then a byte a second, never finished.
  slow: (res) => {
    res.writeHead(201, { 'content-type': 'application/json' });
    res.write('{');
    const timer = setInterval(() => res.write(' '), 1000);
    res.once('close', () => clearInterval(timer));
  },
};

/** Presents `token` on /AgentService/Connect; resolves with the gRPC status the server answered (undefined: accepted) and how long it took. */
async function presentToken(port: number, ca: string, token: string): Promise<{ status: string | undefined; ms: number }> {
  const started = performance.now();
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca });
  session.on('error', () => {});
  try {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/AgentService/Connect',
      'content-type': 'application/grpc',
      te: 'trailers',
      agentid: `agent-${token}`,
      authorization: `Bearer ${token}`,
    });
    stream.on('error', () => {});
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      stream.once('response', resolve);
      stream.once('close', () => reject(new Error(`stream for ${token} closed without headers`)));
    });
    return { status: headers['grpc-status'] as string | undefined, ms: performance.now() - started };
  } finally {
    session.destroy();
  }
}

describe('adversarial: TokenReview against a hostile API server', () => {
  let api: https.Server;
  let rig: KonnectivityRig;
  beforeAll(async () => {
    const ca = createCertificateAuthority({ commonName: 'hostile API CA' });
    const serving = ca.issue({ commonName: 'kube-apiserver', altNames: ['127.0.0.1'], usages: ['server'] });
    api = https.createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const spec = (JSON.parse(Buffer.concat(chunks).toString()) as { spec: { token: string; audiences?: unknown } }).spec;
        (ANSWERS[spec.token] ?? review({ authenticated: false }))(res, spec.audiences);
      });
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(api.address() as AddressInfo).port}`;
    rig = await startKonnectivityRig({
      agentToken: 'good',
      auth: (file) => [
        `--kubeconfig=${file(
          'kubeconfig.yaml',
          `apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority: ${file('api-ca.crt', ca.cert)}\n    server: ${url}\n  name: api\n` +
            'contexts:\n- context:\n    cluster: api\n  name: api\ncurrent-context: api\n',
        )}`,
        '--agent-namespace=kube-system',
        '--agent-service-account=konnectivity-agent',
        `--authentication-audience=${AUDIENCE}`,
      ],
    });
  });
  afterAll(async () => {
    await rig?.stop();
    api?.closeAllConnections();
    await new Promise((resolve) => api?.close(resolve));
  });

  it('refuses every hostile answer within the review timeout, cuts a huge one at ~1 MiB, stays bounded; a good token still works', async () => {
    const base = sample(rig.server);
    const hostile = Object.keys(ANSWERS).filter((t) => t !== 'good');
    const { result, peakRss } = await during(rig.server, () =>
      Promise.all(hostile.map(async (token) => ({ token, ...(await presentToken(rig.agentPort, rig.pem.ca, token)) }))),
    );
    console.log(
      `hostile TokenReview: ${result.map((r) => `${r.token}=${r.status ?? 'accepted'} (${Math.round(r.ms)} ms)`).join(', ')}; ` +
        `huge: ${mib(sentHuge.bytes)} sent; server RSS ${mib(base.rss)} → peak ${mib(peakRss)}`,
    );
    const byToken = Object.fromEntries(result.map((r) => [r.token, r]));
    // A review that says no, or names someone else: UNAUTHENTICATED.
    for (const token of ['other-user', 'other-audience', 'no-audience', 'string-true']) expect(byToken[token]?.status, token).toBe('16');
    // An API server that does not answer a TokenReview: UNAVAILABLE (the agent retries later).
    for (const token of ['status-not-object', 'json-null', 'not-json', 'huge', 'slow']) expect(byToken[token]?.status, token).toBe('14');
    for (const r of result) expect(r.ms, r.token).toBeLessThan(REVIEW_BOUND_MS);
    // The huge answer was cut: the server stopped reading long before 512 MiB (socket buffers hold a few MiB).
    expect(sentHuge.closed).toBe(true);
    // Before: the server read all 512 MiB, failed to make a string of it and exited (ERR_STRING_TOO_LONG).
    expect(rig.server.child.exitCode).toBeNull();
    expect(sentHuge.bytes).toBeLessThan(64 * MiB);
    expect(peakRss - base.rss).toBeLessThan(RSS_BOUND);
    expect(rig.server.stderr).toMatch(/larger than 1048576 bytes/);
    expect(rig.server.stderr).toMatch(/not for audience/);

    // The good token: accepted (headers without a status: the stream is open), and the agent carries dials.
    expect((await presentToken(rig.agentPort, rig.pem.ca, 'good')).status).toBeUndefined();
    expect(await konnectivityEcho(rig, 'reviewed')).toMatchObject({ code: 0, stdout: 'reviewed' });
  });
});
