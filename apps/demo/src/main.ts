import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import {
  createAgent,
  createCertificateAuthority,
  createHttpsAgent,
  createHub,
  createNetDialer,
  createSpokeDialer,
  type Dialer,
} from '@spoke/transport-core';
import { measure, renderTable, type Row } from './table.js';

/**
 * `npm run demo`: a kubelet-shaped HTTPS node and the paths a control plane
 * uses to reach it — direct verified TLS and a spoke hub + agent tunnel — all
 * on loopback, with a table of what happened and how long it took.
 */
async function main(): Promise<void> {
  const once = process.argv.includes('--once');
  const dir = mkdtempSync(join(tmpdir(), 'spoke-demo-'));

  // Demo cluster PKI: one CA for kubelet serving certs and the control plane's kubelet client cert.
  const ca = createCertificateAuthority({ commonName: 'spoke-demo cluster CA' });
  const kubeletServing = ca.issue({ commonName: 'node-1', altNames: ['node-1', 'localhost', '127.0.0.1'], usages: ['server'] });
  const kubeletClient = ca.issue({ commonName: 'kube-apiserver-kubelet-client', organization: 'system:masters', usages: ['client'] });
  const wrongCa = createCertificateAuthority({ commonName: 'not the cluster CA' });

  // A kubelet-shaped node: HTTPS, client certificates required.
  const kubelet = https.createServer(
    { cert: kubeletServing.cert, key: kubeletServing.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      if (req.url === '/healthz') res.end('ok');
      else if (req.url?.startsWith('/containerLogs/')) res.end('2026-11-27T10:00:00Z starting web\n2026-11-27T10:00:01Z listening on :8080\n');
      else if (req.url === '/bulk') {
        const chunk = randomBytes(1024 * 1024);
        res.writeHead(200, { 'content-length': String(64 * chunk.length) });
        let sent = 0;
        const pump = (): void => {
          while (sent < 64) {
            sent++;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      } else res.writeHead(404).end();
    },
  );
  await new Promise<void>((r) => kubelet.listen(0, '127.0.0.1', r));
  const kubeletPort = (kubelet.address() as AddressInfo).port;

  // A spoke hub (control-plane side) and an agent (node side) that dials out to it.
  const agentToken = randomBytes(24).toString('base64url');
  const clientToken = randomBytes(24).toString('base64url');
  writeFileSync(join(dir, 'agent-token'), agentToken, { mode: 0o600 });
  writeFileSync(join(dir, 'client-token'), clientToken, { mode: 0o600 });
  const hub = await createHub({ agentTokens: [agentToken], clientTokens: [clientToken] });
  const agent = createAgent({
    hub: hub.url,
    id: 'node-1',
    identifiers: 'host=node-1&ipv4=127.0.0.1',
    allow: [`127.0.0.1/32:${kubeletPort}`],
    token: agentToken,
    tls: { fingerprint: hub.fingerprint as string },
  });
  await agent.waitConnected(1, { signal: AbortSignal.timeout(10_000) });
  const client = createSpokeDialer({ url: hub.url, token: clientToken, tls: { fingerprint: hub.fingerprint as string } });

  const get = (dialer: Dialer, path: string, trust = ca.cert): Promise<string> =>
    new Promise((resolve, reject) => {
      const agentForDialer = createHttpsAgent(dialer);
      https
        .get(
          { host: '127.0.0.1', port: kubeletPort, path, agent: agentForDialer, ca: trust, cert: kubeletClient.cert, key: kubeletClient.key, servername: 'node-1', signal: AbortSignal.timeout(10_000) },
          (res) => {
            const hash = createHash('sha256');
            let bytes = 0;
            let text = '';
            res.on('data', (c: Buffer) => {
              bytes += c.length;
              hash.update(c);
              if (text.length < 200) text += c.toString();
            });
            res.on('end', () => {
              agentForDialer.destroy();
              resolve(bytes > 100_000 ? `${res.statusCode} ${(bytes / 1048576).toFixed(0)} MiB` : `${res.statusCode} ${text.split('\n')[0]?.trim()}`);
            });
          },
        )
        .on('error', (e) => {
          agentForDialer.destroy();
          reject(e);
        });
    });

  const direct = createNetDialer();
  const rows: Row[] = [];
  rows.push(await measure('direct TLS (CA verified, mTLS)', 'GET /healthz', () => get(direct, '/healthz')));
  rows.push(await measure('direct TLS, wrong CA', 'GET /healthz', () => get(direct, '/healthz', wrongCa.cert), 'ERR_CERT_UNTRUSTED'));
  rows.push(await measure('hub.dialer() → agent (WSS, pinned)', 'GET /healthz', () => get(hub.dialer(), '/healthz')));
  rows.push(await measure('spoke+wss client → hub → agent', 'GET /containerLogs', () => get(client, '/containerLogs/default/web/app')));
  const t0 = performance.now();
  const bulk = await measure('spoke+wss client → hub → agent', 'GET 64 MiB', () => get(client, '/bulk'));
  bulk.result += ` (${(64 / ((performance.now() - t0) / 1000)).toFixed(0)} MiB/s)`;
  rows.push(bulk);
  rows.push(
    await measure(
      'hub → agent, target outside --allow',
      'dial 127.0.0.1:22',
      async () => {
        const s: Duplex = await hub.dial('127.0.0.1:22', { timeoutMs: 5_000 });
        s.destroy();
        return 'connected';
      },
      'ERR_DIAL_DENIED',
    ),
  );

  process.stdout.write(`\n${renderTable(rows)}\n\n`);
  process.stdout.write(
    [
      `hub:          ${hub.url}`,
      `fingerprint:  ${hub.fingerprint}`,
      `client token: ${join(dir, 'client-token')}`,
      `node:         https://127.0.0.1:${kubeletPort} (kubelet-shaped, client certs required)`,
      '',
    ].join('\n'),
  );
  const failed = rows.filter((r) => !r.ok).length;
  if (once || failed > 0) {
    // Graceful first (GOAWAY, drain), bounded so a stuck peer cannot hold the demo.
    const graceful = Promise.all([client.close(), agent.close(), hub.close()]);
    await Promise.race([graceful, new Promise((r) => setTimeout(r, 3_000).unref())]);
    agent.destroy();
    hub.destroy();
    kubelet.closeAllConnections();
    kubelet.close();
    process.exitCode = failed > 0 ? 1 : 0;
    return;
  }
  process.stdout.write('Running; press Ctrl-C to stop.\n');
  const stop = async (): Promise<void> => {
    agent.destroy();
    hub.destroy();
    kubelet.closeAllConnections();
    kubelet.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
