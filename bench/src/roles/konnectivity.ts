import { createKonnectivityAgent, createKonnectivityServer } from '@spoke/dialer-konnectivity';
import type { Role } from './role.js';

function pem(args: Record<string, unknown>, key: string): string {
  const v = args[key];
  if (typeof v !== 'string') throw new Error(`missing PEM argument "${key}"`);
  return v;
}

/** Our Konnectivity server: gRPC front end on a unix socket (kube-apiserver's way), agents over mTLS on loopback. */
export async function startKonnectivityServer(args: Record<string, unknown>): Promise<Role> {
  const server = await createKonnectivityServer({
    mode: 'grpc',
    udsName: String(args['uds']),
    agentPort: 0,
    agentBindAddress: '127.0.0.1',
    healthPort: false,
    clusterCert: pem(args, 'certPem'),
    clusterKey: pem(args, 'keyPem'),
    clusterCaCert: pem(args, 'caPem'),
    serverId: 'bench-server',
  });
  return {
    info: { agentPort: server.ports.agent },
    commands: { agents: () => server.agents },
    close: () => server.destroy(),
  };
}

/** Our Konnectivity agent, connected to `port` with a client certificate. */
export function startKonnectivityAgent(args: Record<string, unknown>): Role {
  const agent = createKonnectivityAgent({
    proxyServerHost: '127.0.0.1',
    proxyServerPort: Number(args['port']),
    caCert: pem(args, 'caPem'),
    agentCert: pem(args, 'certPem'),
    agentKey: pem(args, 'keyPem'),
    agentId: 'bench-agent',
  });
  return { info: {}, commands: {}, close: () => agent.destroy() };
}
