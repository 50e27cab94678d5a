/**
 * Runs one node-side agent inside the test's network namespace (spawned with
 * `ip netns exec NS node … netns-agent.ts CONFIG.json`): our Konnectivity
 * agent or a spoke agent, both dialling OUT to servers on the host side of
 * the veth. Prints `connected` once the tunnel is up; SIGTERM stops it.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createKonnectivityAgent } from '@spoke/dialer-konnectivity';
import { createAgent } from '@spoke/hub';

/** The agent's configuration file (JSON; PEM and tokens inline, mode 0600). */
export interface NetnsAgentConfig {
  kind: 'konnectivity' | 'spoke';
  id: string;
  /** Targets the agent may dial (the kubelet on the namespace's loopback). */
  allow: string[];
  konnectivity?: { host: string; port: number; ca: string; cert: string; key: string };
  spoke?: { url: string; fingerprint: string; token: string };
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as NetnsAgentConfig;
  let stop: () => void;
  if (config.kind === 'konnectivity' && config.konnectivity) {
    const k = config.konnectivity;
    const agent = createKonnectivityAgent({
      proxyServerHost: k.host,
      proxyServerPort: k.port,
      caCert: k.ca,
      agentCert: k.cert,
      agentKey: k.key,
      agentId: config.id,
      allow: config.allow,
    });
    stop = () => agent.destroy();
    if (agent.servers().length === 0) await once(agent, 'server', { signal: AbortSignal.timeout(20_000) });
  } else if (config.kind === 'spoke' && config.spoke) {
    const s = config.spoke;
    const agent = createAgent({ hub: s.url, id: config.id, allow: config.allow, token: s.token, tls: { fingerprint: s.fingerprint } });
    stop = () => agent.destroy();
    await agent.waitConnected(1, { signal: AbortSignal.timeout(20_000) });
  } else {
    throw new Error(`bad agent config: kind ${config.kind}`);
  }
  process.stdout.write('connected\n');
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  stop();
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`netns-agent: ${(err as Error).message}\n`);
  process.exit(1);
});
