import https from 'node:https';
import WebSocket from 'ws';
import { onAbort } from '@spoke/transport-core/utils';
import type { KubeClient } from './kube-client.js';

/** Where the control plane is and who we are (the kubeconfig's contents). */
export interface ApiClientOptions {
  /** `https://127.0.0.1:PORT`. */
  server: string;
  ca: string;
  cert: string;
  key: string;
}

interface Status {
  status?: string;
  message?: string;
  details?: { causes?: Array<{ reason?: string; message?: string }> };
}

/**
 * A {@link KubeClient} that speaks the Kubernetes API itself, for machines
 * without kubectl: plain HTTPS GETs for lists, logs and proxy paths, a
 * `v5.channel.k8s.io` WebSocket for exec and a `v4.channel.k8s.io` WebSocket
 * for port-forward — the same requests kubectl makes, to the same URLs.
 */
export function createApiClient(options: ApiClientOptions): KubeClient {
  const tls = { ca: options.ca, cert: options.cert, key: options.key };
  const wsBase = options.server.replace(/^https:/, 'wss:');

  const get = (path: string, signal: AbortSignal): Promise<string> =>
    new Promise((resolve, reject) => {
      https
        .get(`${options.server}${path}`, { ...tls, agent: false, signal }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('error', reject);
          res.on('end', () => {
            if ((res.statusCode ?? 0) < 300) return resolve(body);
            let message = body.trim();
            try {
              message = (JSON.parse(body) as Status).message ?? message;
            } catch {
              // not a Status document
            }
            reject(new Error(`GET ${path}: ${res.statusCode} ${message}`));
          });
        })
        .on('error', reject);
    });

  const podPath = (pod: string): string => `/api/v1/namespaces/default/pods/${encodeURIComponent(pod)}`;

  return {
    description: 'built-in Kubernetes API client (kubectl not found): HTTPS + WebSocket exec/port-forward',
    spell: (check) =>
      ({
        nodes: 'GET /api/v1/nodes',
        logs: 'GET pods/log?tailLines=2',
        exec: "WS v5 pods/exec sh -c 'cat; exit 3'",
        'port-forward': 'WS v4 pods/portforward + GET /',
        'node-proxy': 'GET nodes/…/proxy/healthz',
      })[check],
    async nodes(signal) {
      const list = JSON.parse(await get('/api/v1/nodes', signal)) as {
        items: Array<{ metadata: { name: string }; status: { conditions: Array<{ type: string; status: string }> } }>;
      };
      return new Map(list.items.map((n) => [n.metadata.name, n.status.conditions.find((c) => c.type === 'Ready')?.status ?? 'Unknown']));
    },
    logs: (pod, tail, signal) => get(`${podPath(pod)}/log?tailLines=${tail}`, signal),
    exec(pod, argv, stdin, signal) {
      const q = new URLSearchParams([
        ...argv.map((a): [string, string] => ['command', a]),
        ['stdin', 'true'],
        ['stdout', 'true'],
        ['stderr', 'true'],
      ]);
      let stdout = '';
      let stderr = '';
      let status: Status | undefined;
      const first = [Buffer.concat([Buffer.from([0]), Buffer.from(stdin)]), Buffer.from([255, 0])]; // v5: then close stdin
      return channelSession(
        { url: `${wsBase}${podPath(pod)}/exec?${q.toString()}`, protocol: 'v5.channel.k8s.io', tls, signal, first },
        (data) => {
          const payload = data.subarray(1).toString();
          if (data[0] === 1) stdout += payload;
          else if (data[0] === 2) stderr += payload;
          else if (data[0] === 3 && payload.length > 0) status = JSON.parse(payload) as Status;
        },
        () => {
          if (!status) throw new Error('exec ended without a status');
          const exit = status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
          return { stdout, stderr, code: status.status === 'Success' ? 0 : exit !== undefined ? Number(exit) : -1 };
        },
      );
    },
    async portForwardGet(pod, path, signal) {
      const spec = JSON.parse(await get(podPath(pod), signal)) as {
        spec: { containers: Array<{ ports?: Array<{ name?: string; containerPort: number }> }> };
      };
      const port = spec.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === 'http')?.containerPort;
      if (port === undefined) throw new Error(`pod ${pod} declares no port named http`);
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16LE(port);
      // Channel 0 carries data; its first two bytes each way are the port.
      const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${pod}\r\nConnection: close\r\n\r\n`);
      const chunks: Buffer[] = [];
      let errorText = '';
      const seen = new Set<number>();
      const response = await channelSession(
        {
          url: `${wsBase}${podPath(pod)}/portforward?ports=${port}`,
          protocol: 'v4.channel.k8s.io',
          tls,
          signal,
          first: [Buffer.concat([Buffer.from([0]), prefix, request])],
        },
        (data) => {
          const channel = data[0] ?? 0;
          let payload = data.subarray(1);
          if (!seen.has(channel)) {
            seen.add(channel);
            payload = payload.subarray(2);
          }
          if (channel === 0) chunks.push(payload);
          else errorText += payload.toString();
        },
        () => {
          if (errorText) throw new Error(errorText);
          return Buffer.concat(chunks);
        },
      );
      return parseHttpResponse(response);
    },
    raw: (path, signal) => get(path, signal),
  };
}

/** A channel.k8s.io WebSocket: where, which subprotocol, and the frames to send once it is open. */
interface ChannelSessionOptions {
  url: string;
  protocol: string;
  tls: { ca: string; cert: string; key: string };
  signal: AbortSignal;
  first: Buffer[];
}

/**
 * Opens the WebSocket, sends `first`, hands every frame to `onFrame`, and
 * settles when the socket closes: with `finish()` (which may throw), or
 * with the signal's reason when an abort ended the session.
 */
function channelSession<T>(options: ChannelSessionOptions, onFrame: (data: Buffer) => void, finish: () => T): Promise<T> {
  const { signal } = options;
  const ws = new WebSocket(options.url, [options.protocol], options.tls);
  const closed = new Promise<void>((resolve, reject) => {
    const detach = onAbort(signal, () => ws.terminate());
    ws.once('open', () => {
      for (const frame of options.first) ws.send(frame);
    });
    ws.on('message', onFrame);
    ws.once('error', (err) => {
      detach();
      reject(signal.aborted ? (signal.reason as Error) : err);
    });
    ws.once('close', () => {
      detach();
      if (signal.aborted) reject(signal.reason as Error);
      else resolve();
    });
  });
  return closed.then(finish);
}

/** Splits a `Connection: close` HTTP/1.1 response into status and (de-chunked) body. */
function parseHttpResponse(raw: Buffer): { status: number; body: string } {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`not an HTTP response: ${JSON.stringify(text.slice(0, 80))}`);
  const head = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
  let body = text.slice(end + 4);
  if (head.some((h) => /^transfer-encoding:\s*chunked/i.test(h))) {
    let out = '';
    let rest = body;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      const size = parseInt(rest.slice(0, lineEnd), 16);
      if (!(size > 0)) break;
      out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
      rest = rest.slice(lineEnd + 2 + size + 2);
    }
    body = out;
  }
  return { status, body: Buffer.from(body, 'latin1').toString('utf8') };
}
