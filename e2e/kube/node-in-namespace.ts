import { execFile, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DemoPki } from '@spoke/app-control-plane';
import { IP, createNetns, waitForOutput, type TestNetns } from '@spoke/transport-core/testing';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

/** `node` with the TypeScript loader, for the repo's programs run from source. */
export const TS_NODE = [process.execPath, '--conditions=@spoke/source', '--import', join(root, 'scripts', 'ts-register.mjs')];

/** The spoke CLI from source. */
export const SPOKE = [...TS_NODE, join(root, 'packages', 'cli', 'src', 'main.ts')];

/** The kubelet's port, in the namespace's own port space. */
export const KUBELET_PORT = 10250;

/**
 * apps/node as the kubelet, in its own network namespace. It listens on every
 * namespace address: `nsIp` (the veth end, routable from the host: the Direct
 * path) and `tunnelIp` (on the namespace's loopback device, which the host has
 * no route to: only an agent inside the namespace reaches it). Both are
 * non-loopback, as kube-apiserver requires of node addresses.
 */
export interface NodeInNamespace {
  readonly ns: TestNetns;
  readonly nsIp: string;
  readonly tunnelIp: string;
  readonly hostIp: string;
  /** The web container's log file: append to it to see `logs -f` follow. */
  readonly webLog: string;
  /** Starts a program inside the namespace and waits for `ready` on its output. */
  start(argv: string[], ready: RegExp, what: string): Promise<ChildProcess>;
  destroy(): Promise<void>;
}

/** The pods the node runs; the e2e suite creates the same ones through the API. */
export const PODS = {
  web: { container: 'web', port: 8080, body: 'hello from the namespace\n', logFile: 'web.log' },
  tools: { container: 'shell' },
} as const;

export async function startNodeInNamespace(options: { dir: string; pki: DemoPki; name: string }): Promise<NodeInNamespace> {
  const ns = await createNetns();
  try {
    // 10.213.a.b (the veth) → 10.214.a.b: a /32 only the namespace holds.
    const tunnelIp = ns.nsIp.replace(/^10\.213\./, '10.214.');
    await run(IP, ['-n', ns.name, 'addr', 'add', `${tunnelIp}/32`, 'dev', 'lo']);
    const kubelet = options.pki.issueKubelet({ name: options.name, addresses: [options.name, ns.nsIp, tunnelIp] });
    const file = (name: string, content: string): string => {
      const path = join(options.dir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    };
    file('kubelet.crt', kubelet.cert);
    file('kubelet.key', kubelet.key);
    file('kubelet-client-ca.crt', options.pki.ca.cert);
    file(PODS.web.logFile, 'namespace line 1\nnamespace line 2\n');
    const config = file(
      'node.yaml',
      [
        `name: ${options.name}`,
        'host: 0.0.0.0',
        `port: ${KUBELET_PORT}`,
        'tls: { certFile: kubelet.crt, keyFile: kubelet.key, clientCaFile: kubelet-client-ca.crt }',
        'pods:',
        '  - name: web',
        '    containers:',
        `      - name: ${PODS.web.container}`,
        `        http: { port: ${PODS.web.port}, body: ${JSON.stringify(PODS.web.body)} }`,
        `        logFile: ${PODS.web.logFile}`,
        '  - name: tools',
        '    containers:',
        `      - name: ${PODS.tools.container}`,
        "        command: ['/bin/sh', '-c', 'echo tools started; exec cat']",
        '        stdin: true',
        '',
      ].join('\n'),
    );
    const start = async (argv: string[], ready: RegExp, what: string): Promise<ChildProcess> => {
      const child = ns.spawn(argv);
      await waitForOutput(child, ready, what, 60_000);
      return child;
    };
    await start([...TS_NODE, join(root, 'apps', 'node', 'src', 'main.ts'), config], /serving the kubelet API/, 'the node in the namespace');
    return {
      ns,
      nsIp: ns.nsIp,
      hostIp: ns.hostIp,
      tunnelIp,
      webLog: join(options.dir, PODS.web.logFile),
      start,
      destroy: () => ns.destroy(),
    };
  } catch (err) {
    await ns.destroy();
    throw err;
  }
}
