import https from 'node:https';
import { SpokeError } from '@spoke/transport-core';
import { deadlineSignal } from '@spoke/transport-core/utils';
import { inClusterAccess, loadKubeconfig, type KubeApiAccess } from './kubeconfig.js';

/** Agent token authentication through the Kubernetes TokenReview API, as upstream proxy-server does it. */
export interface TokenReviewOptions {
  /** `--kubeconfig`: a path (YAML or JSON) or the parsed object. Default: in-cluster config. */
  kubeconfig?: string | Record<string, unknown>;
  /** `--agent-namespace`: the agents' service account namespace. */
  namespace: string;
  /** `--agent-service-account`: the agents' service account name. */
  serviceAccount: string;
  /** `--authentication-audience`: sent as `spec.audiences` when set. */
  audience?: string;
  /** Bound on one review request, answer body included. Default 10000 ms. */
  timeoutMs?: number;
}

/**
 * The largest TokenReview answer read. A real one is a few KiB (the user's groups and extra fields); an API
 * server sending more is refused rather than buffered.
 */
export const MAX_REVIEW_BYTES = 1024 * 1024;

/** What a review decided: accepted, refused (bad token), or could not be done (API unreachable or erroring). */
export type ReviewOutcome = { ok: true; username: string } | { ok: false; unavailable: boolean; reason: string };

const PREFIX = 'Bearer ';

/**
 * Builds the check for an agent's `authorization` metadata values. The API
 * access is resolved once (bad kubeconfigs fail at start); the token file of
 * a kubeconfig user is read on each review.
 */
export function createTokenReviewer(
  options: TokenReviewOptions,
): (authorization: readonly string[], signal: AbortSignal) => Promise<ReviewOutcome> {
  if (!options.namespace || !options.serviceAccount) {
    throw new SpokeError('ERR_BAD_OPTION', 'tokenReview needs namespace and serviceAccount (--agent-namespace, --agent-service-account).');
  }
  const access = options.kubeconfig === undefined ? inClusterAccess() : loadKubeconfig(options.kubeconfig);
  const want = `system:serviceaccount:${options.namespace}:${options.serviceAccount}`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return async (authorization, signal) => {
    if (authorization.length !== 1)
      return refused(authorization.length === 0 ? 'no authorization metadata' : `${authorization.length} authorization values`);
    const header = authorization[0] as string;
    if (!header.startsWith(PREFIX)) return refused('authorization is not a Bearer token');
    let status: ReviewStatus;
    const deadline = deadlineSignal(timeoutMs, signal);
    try {
      status = await postReview(access, header.slice(PREFIX.length), options.audience, deadline.signal);
    } catch (err) {
      return { ok: false, unavailable: true, reason: `token review at ${access.server} failed: ${(err as Error).message}` };
    } finally {
      deadline.clear();
    }
    // What a hostile API server says goes into logs: short, and as JSON.
    if (status.error) return refused(`token review error: ${JSON.stringify(status.error).slice(0, 200)}`);
    if (status.authenticated !== true) return refused('token not authenticated');
    const username = status.user?.username ?? '';
    if (username !== want) return refused(`token belongs to ${JSON.stringify(username).slice(0, 200)}, expected ${want}`);
    // Kubernetes: a client that sets spec.audiences must find one of them in status.audiences, or the
    // authenticator was not audience-aware and the token may have been issued for someone else.
    if (options.audience && !(Array.isArray(status.audiences) && status.audiences.includes(options.audience)))
      return refused(
        `token is not for audience ${JSON.stringify(options.audience)} (the review names ${JSON.stringify(status.audiences ?? []).slice(0, 200)})`,
      );
    return { ok: true, username: want };
  };
}

function refused(reason: string): ReviewOutcome {
  return { ok: false, unavailable: false, reason };
}

interface ReviewStatus {
  authenticated?: unknown;
  error?: unknown;
  user?: { username?: unknown };
  audiences?: unknown;
}

function postReview(access: KubeApiAccess, token: string, audience: string | undefined, signal: AbortSignal): Promise<ReviewStatus> {
  const body = JSON.stringify({
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    spec: { token, ...(audience ? { audiences: [audience] } : {}) },
  });
  const url = new URL(`${access.server}/apis/authentication.k8s.io/v1/tokenreviews`);
  const apiToken = access.token?.();
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: 'POST',
        agent: false,
        signal,
        ...(access.ca ? { ca: access.ca } : {}),
        ...(access.cert && access.key ? { cert: access.cert, key: access.key } : {}),
        ...(access.serverName ? { servername: access.serverName } : {}),
        rejectUnauthorized: !access.insecure,
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'Content-Length': Buffer.byteLength(body),
          ...(apiToken ? { Authorization: `Bearer ${apiToken}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_REVIEW_BYTES) return void chunks.push(c);
          chunks.length = 0;
          req.destroy();
          reject(new Error(`the answer is larger than ${MAX_REVIEW_BYTES} bytes`));
        });
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200 && res.statusCode !== 201) {
            // Kubernetes answers errors with a Status object whose message says why (e.g. our API credentials are not allowed to create tokenreviews).
            let message = text.slice(0, 200);
            try {
              const status = (JSON.parse(text) as { message?: unknown }).message;
              if (typeof status === 'string') message = status.slice(0, 200);
            } catch {
              // not JSON: keep the text
            }
            reject(new Error(`HTTP ${res.statusCode}: ${message}`));
            return;
          }
          let status: unknown;
          try {
            status = (JSON.parse(text) as { status?: unknown } | null)?.status;
          } catch {
            // handled below
          }
          if (typeof status !== 'object' || status === null || Array.isArray(status)) reject(new Error('the answer is not a TokenReview'));
          else resolve(status);
        });
      },
    );
    req.on('error', (err: Error) =>
      reject(
        signal.aborted
          ? new Error(`no answer in time (${String(signal.reason instanceof Error ? signal.reason.message : signal.reason)})`)
          : err,
      ),
    );
    req.end(body);
  });
}
