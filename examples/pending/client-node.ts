/**
 * `@kubernetes/client-node` with every API connection opened by a spoke
 * Dialer. client-node 1.x sends requests with node-fetch and an `https.Agent`
 * it builds from the kubeconfig (CA, client certificate); a promise middleware
 * swaps that agent for `createHttpsAgent(dialer, sameTlsOptions)`, so TLS and
 * credentials are unchanged and only the transport moves.
 *
 * Pending: needs `@kubernetes/client-node` 1.4.0 (2.x needs Node ≥ 22.19). Move
 * this file to examples/ and its spec to examples/test/ once it is installed.
 *
 *   npm run client-node -- ~/.kube/config
 */
import type https from 'node:https';
import { readFile } from 'node:fs/promises';
import { CoreV1Api, KubeConfig, ServerConfiguration, createConfiguration, type RequestContext } from '@kubernetes/client-node';
import { compose, createHttpsAgent, createNetDialer, withHooks, type Dialer } from '@spoke/transport-core';
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
  const throughDialer = async (context: RequestContext): Promise<RequestContext> => {
    // client-node has just set its own agent with the kubeconfig's TLS material: keep that, change the transport.
    const tls = (context.getAgent() as https.Agent | undefined)?.options ?? {};
    agent ??= createHttpsAgent(traced, { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: tls.rejectUnauthorized });
    context.setAgent(agent);
    context.setSignal(signal);
    return context;
  };
  const api = new CoreV1Api(
    createConfiguration({
      baseServer: new ServerConfiguration<Record<string, string>>(cluster.server, {}),
      authMethods: { default: kc },
      promiseMiddleware: [{ pre: throughDialer, post: async (response) => response }],
    }),
  );
  try {
    const namespaces = await api.listNamespace();
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
