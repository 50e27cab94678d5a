import { SpokeError, type SpokeErrorCode } from '@spoke/transport-core';
import { GrpcCode } from './grpc/grpc-message.js';

const HOP = 'konnectivity';

/** What the agent's (Go) dial error text means, as a SpokeError code. */
export function codeForDialError(text: string): SpokeErrorCode {
  const t = text.toLowerCase();
  if (t.includes('no agent available') || t.includes('no tunnels available')) return 'ERR_NO_ROUTE';
  if (t.includes('connection refused')) return 'ERR_DIAL_REFUSED';
  if (t.includes('timeout') || t.includes('timed out') || t.includes('deadline')) return 'ERR_DIAL_TIMEOUT';
  if (t.includes('no such host') || t.includes('server misbehaving') || t.includes('unreachable') || t.includes('no route to host'))
    return 'ERR_DIAL_UNREACHABLE';
  if (t.includes('not allowed') || t.includes('denied')) return 'ERR_DIAL_DENIED';
  return 'ERR_DIAL_FAILED';
}

/** Turns a failed DIAL_RSP (or an HTTP-CONNECT error body) into a SpokeError that says what to do. */
export function dialError(text: string, target: string, status?: number): SpokeError {
  const code = codeForDialError(text);
  const seen = status === undefined ? `"${text}"` : `HTTP ${status} "${text}"`;
  const next: Record<string, string> = {
    ERR_NO_ROUTE:
      "No Konnectivity agent is connected for this destination: check that proxy-agent runs and reaches the server (its --proxy-server-host/port, certificates and the server's --proxy-strategies).",
    ERR_DIAL_REFUSED: 'The agent reached the host but nothing listens on that port: check the address and that the service runs.',
    ERR_DIAL_TIMEOUT: "The agent could not connect in time: check that the destination is up and reachable from the agent's network.",
    ERR_DIAL_UNREACHABLE: "The agent cannot resolve or route to the destination: check the name/IP from the agent's network.",
    ERR_DIAL_DENIED: "The agent refused the destination: add it to the agent's allow list if it should be reachable.",
  };
  return new SpokeError(code, `Konnectivity dial to ${target} failed: ${seen}. ${next[code] ?? "Check the agent's logs for the cause."}`, {
    target,
    hop: HOP,
  });
}

interface GrpcLikeError {
  code?: unknown;
  details?: unknown;
  message?: unknown;
}

/** Maps a gRPC status error (grpc-js's, or our GrpcStatusError) to a SpokeError. `where` names the server for the message. */
export function fromGrpcError(err: unknown, where: string, target?: string): SpokeError {
  if (err instanceof SpokeError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as GrpcLikeError;
  const code = typeof e.code === 'number' ? e.code : undefined;
  const details = typeof e.details === 'string' && e.details !== '' ? e.details : String(e.message ?? err);
  const init = { cause: err, hop: HOP, ...(target !== undefined ? { target } : {}) };
  switch (code) {
    case GrpcCode.UNAVAILABLE:
      return new SpokeError(
        'ERR_TUNNEL_CLOSED',
        `The Konnectivity server at ${where} is unavailable (${details}). Check that it runs and the address (--uds-name / port) is right.`,
        init,
      );
    case GrpcCode.UNAUTHENTICATED:
    case GrpcCode.PERMISSION_DENIED:
      return new SpokeError(
        'ERR_AUTH_FAILED',
        `The Konnectivity server at ${where} rejected our credentials (${details}). Check the client certificate or token.`,
        init,
      );
    case GrpcCode.DEADLINE_EXCEEDED:
      return new SpokeError(
        'ERR_DIAL_TIMEOUT',
        `The Konnectivity server at ${where} did not answer in time (${details}). Raise timeoutMs or check the server.`,
        init,
      );
    case GrpcCode.CANCELLED:
      return new SpokeError('ERR_TUNNEL_CLOSED', `The Konnectivity stream to ${where} was cancelled (${details}).`, init);
    case GrpcCode.UNIMPLEMENTED:
      return new SpokeError(
        'ERR_PROTOCOL',
        `${where} does not serve /ProxyService/Proxy (${details}). Check that it is a Konnectivity server in gRPC mode.`,
        init,
      );
    case GrpcCode.RESOURCE_EXHAUSTED:
      return new SpokeError(
        'ERR_FRAME_TOO_LARGE',
        `The Konnectivity server at ${where} refused a message as too large (${details}).`,
        init,
      );
    default:
      return new SpokeError(
        'ERR_TUNNEL_CLOSED',
        `The Konnectivity stream to ${where} failed (${details}). Retry; check the server's logs if it persists.`,
        init,
      );
  }
}

/** The stream ended while data could still flow: the tunnel was torn down, not closed by the destination. */
export function tunnelLost(where: string, target: string, cause?: unknown): SpokeError {
  return new SpokeError(
    'ERR_STREAM_RESET',
    `The Konnectivity tunnel to ${target} via ${where} ended without a close (the server or agent went away). Retry the request.`,
    {
      cause,
      target,
      hop: HOP,
    },
  );
}
