/**
 * `@kubernetes/client-node` with every API connection opened by a spoke
 * Dialer. client-node 1.x sends requests with node-fetch and an `https.Agent`
 * it builds from the kubeconfig (CA, client certificate); a wrapping auth
 * method swaps that agent for `createHttpsAgent(dialer, sameTlsOptions)`, so
 * TLS and credentials are unchanged and only the transport moves. (A configured
 * middleware would be the obvious hook, but 1.3.0 applies only middleware passed
 * per call.) 1.x is the line that runs on Node 20: 2.x sends requests with
 * undici 8, which needs Node ≥ 22.19.
 *
 *   npm run client-node -- ~/.kube/config
 */
import type https from 'node:https';
import { readFile } from 'node:fs/promises';
import { CoreV1Api, KubeConfig, ServerConfiguration, createConfiguration, type RequestContext } from '@kubernetes/client-node';
import { compose, createHttpsAgent, createNetDialer, withHooks, type Dialer } from '@spoke/transport-core';
import { raceSignal } from '@spoke/transport-core/utils';
import { reportFailure, runIfMain, type ExampleContext } from './program.js';

export interface ClientNodeOptions extends ExampleContext {
  /** Kubeconfig text (YAML). Its current context names the cluster and user. */
  kubeconfig: string;
  /** The dialer under client-node. Default: direct TCP. The caller closes its own dialer. */
  dialer?: Dialer;
}

/** Lists the cluster's namespaces through the dialer and prints their names. Resolves to an exit code. */
export async function main({ kubeconfig, dialer, signal, log = console.log }: ClientNodeOptions): Promise<number> {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    log('the kubeconfig has no current cluster');
    return 2;
  }
  const base = dialer ?? createNetDialer();
  const traced = compose(base, withHooks({ onDialConnected: (e) => log(`dialled ${e.target} through ${e.kind}`) }));
  let agent: https.Agent | undefined;
  // client-node asks its auth method to prepare every request: the kubeconfig's own method sets an agent with the
  // cluster's CA and client certificate; keep that TLS material and swap in an agent whose sockets the dialer opens.
  const throughDialer = {
    getName: () => 'kubeconfig, connections through a spoke Dialer',
    async applySecurityAuthentication(context: RequestContext): Promise<void> {
      await kc.applySecurityAuthentication(context);
      const tls = (context.getAgent() as https.Agent | undefined)?.options ?? {};
      agent ??= createHttpsAgent(traced, { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: tls.rejectUnauthorized });
      context.setAgent(agent);
    },
  };
  const api = new CoreV1Api(
    createConfiguration({
      baseServer: new ServerConfiguration<Record<string, string>>(cluster.server, {}),
      authMethods: { default: throughDialer },
    }),
  );
  try {
    // client-node 1.x takes no AbortSignal: stop waiting on abort, and the finally block destroys the agent's sockets.
    const namespaces = await raceSignal(api.listNamespace(), signal);
    log(`namespaces: ${namespaces.items.map((ns) => ns.metadata?.name ?? '?').join(', ')}`);
    return 0;
  } catch (err) {
    return reportFailure(err, { signal, log }, (spoke) => {
      switch (spoke.code) {
        case 'ERR_CERT_UNTRUSTED':
        case 'ERR_CERT_HOSTNAME':
          return "the API server's certificate does not match the kubeconfig's certificate-authority";
        case 'ERR_DIAL_DENIED':
          return `${base.kind} may not reach the API server (an allow list or firewall refused it)`;
        default:
          return spoke.message;
      }
    });
  } finally {
    agent?.destroy();
    if (dialer === undefined) await base.close();
  }
}

runIfMain(import.meta.url, async (context, [file]) => {
  if (file === undefined) {
    context.log('usage: client-node KUBECONFIG');
    return 2;
  }
  return main({ ...context, kubeconfig: await readFile(file, 'utf8') });
});
