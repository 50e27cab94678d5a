/**
 * undici's `fetch` and `request` with every connection opened by a spoke
 * Dialer. Swap the dialer for an SSH, Konnectivity or hub dialer and the HTTP
 * code stays the same: `createUndiciConnect` is the only seam.
 *
 *   npm run fetch-through-dialer -- https://127.0.0.1:8443/healthz [ca.pem]
 */
import { readFile } from 'node:fs/promises';
import { Agent, fetch, request } from 'undici';
import { compose, createNetDialer, createUndiciConnect, withHooks, withTimeout, type Dialer } from '@spoke/transport-core';
import { reportFailure, runIfMain, type ExampleContext } from './program.js';

export interface FetchThroughDialerOptions extends ExampleContext {
  /** An http:// or https:// URL. */
  url: string;
  /** PEM bundle that signed the server's certificate. Default: Node's CA store. */
  ca?: string;
  /** The dialer under undici. Default: direct TCP, each dial bounded to 5 s. The caller closes its own dialer. */
  dialer?: Dialer;
}

/** Fetches `url` twice (`fetch`, then `request`) and prints the status and body of each. Resolves to an exit code. */
export async function main({ url, ca, dialer, signal, log = console.log }: FetchThroughDialerOptions): Promise<number> {
  const base = dialer ?? compose(createNetDialer(), withTimeout(5000));
  const traced = compose(
    base,
    withHooks({ onDialConnected: (e) => log(`dialled ${e.target} through ${e.kind} in ${Math.round(e.durationMs)} ms`) }),
  );
  const agent = new Agent({ connect: createUndiciConnect(traced, ca === undefined ? {} : { ca }) });
  try {
    const viaFetch = await fetch(url, { dispatcher: agent, signal });
    log(`fetch: ${viaFetch.status} ${await viaFetch.text()}`);
    const viaRequest = await request(url, { dispatcher: agent, signal });
    log(`request: ${viaRequest.statusCode} ${await viaRequest.body.text()}`);
    return 0;
  } catch (err) {
    return reportFailure(err, { signal, log }, (spoke) => {
      switch (spoke.code) {
        case 'ERR_CERT_UNTRUSTED':
        case 'ERR_CERT_HOSTNAME':
          return "the server's certificate was refused; pass the CA that signed it";
        case 'ERR_DIAL_REFUSED':
        case 'ERR_DIAL_TIMEOUT':
        case 'ERR_DIAL_UNREACHABLE':
          return `could not reach the server${spoke.retryable ? ' (retrying later may help)' : ''}`;
        default:
          return spoke.message;
      }
    });
  } finally {
    await agent.close();
    if (dialer === undefined) await base.close();
  }
}

runIfMain(import.meta.url, async (context, [url, caFile]) => {
  if (url === undefined) {
    context.log('usage: fetch-through-dialer URL [CA_FILE]');
    return 2;
  }
  return main({ ...context, url, ...(caFile === undefined ? {} : { ca: await readFile(caFile, 'utf8') }) });
});
