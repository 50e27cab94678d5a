import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpAgent, spkiPin, type Dialer } from '@spoke/transport-core';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { createTlsDialer } from '../src/index.js';
import { rejection } from './support/expect-error.js';
import { startHttpsServer, startOpenSslServer, type TestHttpsServer } from './support/servers.js';

// The apiserver → kubelet path: a kubelet-shaped HTTPS server whose serving
// certificate comes from a test CA and which requires client certificates,
// fetched with plain http.get through createHttpAgent(createTlsDialer(...)):
// the dialer does the TLS, so the agent is the plain HTTP one.

const kubeletCa = createCertificateAuthority({ commonName: 'kubelet serving CA' });
const clientCa = createCertificateAuthority({ commonName: 'kubelet client CA' });
const otherCa = createCertificateAuthority({ commonName: 'some other CA' });
const serving = kubeletCa.issue({ commonName: 'node-1', altNames: ['node-1', '127.0.0.1'], usages: ['server'] });
const apiserverClient = clientCa.issue({ commonName: 'kube-apiserver-kubelet-client', organization: 'system:masters', usages: ['client'] });
const strangerClient = otherCa.issue({ commonName: 'stranger', usages: ['client'] });
const dayMs = 86_400_000;
const expired = kubeletCa.issue({
  commonName: 'node-old',
  altNames: ['127.0.0.1'],
  usages: ['server'],
  notBefore: new Date(Date.now() - 30 * dayMs),
  notAfter: new Date(Date.now() - dayMs),
});

function get(dialer: Dialer, port: number, path = '/healthz'): Promise<{ status: number; body: string }> {
  const agent = createHttpAgent(dialer);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, signal: AbortSignal.timeout(10_000) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  }).finally(() => agent.destroy());
}

describe('kubelet-shaped HTTPS server with mTLS', () => {
  let kubelet: TestHttpsServer;
  let oldKubelet: TestHttpsServer;
  const mtls = { cert: apiserverClient.cert, key: apiserverClient.key };

  beforeAll(async () => {
    const clientAuth = { ca: clientCa.cert, requestCert: true, rejectUnauthorized: true };
    kubelet = await startHttpsServer({ cert: serving.cert, key: serving.key, ...clientAuth });
    oldKubelet = await startHttpsServer({ cert: expired.cert, key: expired.key, ...clientAuth });
  });
  afterAll(async () => {
    await kubelet?.close();
    await oldKubelet?.close();
  });

  it('fetches /healthz verified against the CA, presenting the client certificate', async () => {
    const res = await get(createTlsDialer({ ca: kubeletCa.cert, ...mtls }), kubelet.port);
    expect(res).toEqual({ status: 200, body: 'ok kube-apiserver-kubelet-client' });
  });

  it('refuses a server whose CA we do not trust with ERR_CERT_UNTRUSTED naming the certificate', async () => {
    const err = await rejection(get(createTlsDialer({ ca: otherCa.cert, ...mtls }), kubelet.port));
    expect(err.code).toBe('ERR_CERT_UNTRUSTED');
    expect(err.message).toContain('node-1');
    expect(err.message).toContain(serving.x509.fingerprint256);
    expect(err.message).toMatch(/ca option|pin/);
  });

  it('refuses a name the certificate does not cover with ERR_CERT_HOSTNAME', async () => {
    const err = await rejection(get(createTlsDialer({ ca: kubeletCa.cert, servername: 'node-2', ...mtls }), kubelet.port));
    expect(err.code).toBe('ERR_CERT_HOSTNAME');
    expect(err.message).toContain('node-2');
    expect(err.message).toContain('node-1');
  });

  it('refuses an expired serving certificate with ERR_CERT_EXPIRED', async () => {
    const err = await rejection(get(createTlsDialer({ ca: kubeletCa.cert, ...mtls }), oldKubelet.port));
    expect(err.code).toBe('ERR_CERT_EXPIRED');
    expect(err.message).toContain('node-old');
    expect(err.message).toMatch(/expired/);
  });

  it('accepts a matching SPKI pin without a CA, and refuses a different pin with ERR_CERT_PIN', async () => {
    const ok = await get(createTlsDialer({ pin: spkiPin(serving.cert), ...mtls }), kubelet.port);
    expect(ok.status).toBe(200);
    const err = await rejection(get(createTlsDialer({ pin: spkiPin(expired.cert), ...mtls }), kubelet.port));
    expect(err.code).toBe('ERR_CERT_PIN');
    expect(err.message).toContain(spkiPin(serving.cert));
  });

  it('reports a missing client certificate as ERR_AUTH_FAILED telling to pass cert and key', async () => {
    const err = await rejection(get(createTlsDialer({ ca: kubeletCa.cert }), kubelet.port));
    expect(err.code).toBe('ERR_AUTH_FAILED');
    expect(err.message).toMatch(/requires a client certificate/);
    expect(err.message).toMatch(/cert and key/);
  });

  it('reports a client certificate the server does not trust as ERR_AUTH_FAILED (OpenSSL server, which sends an alert)', async () => {
    // Node's https server closes silently on an untrusted client certificate; Go and OpenSSL send an alert.
    const openssl = await startOpenSslServer(serving.cert, serving.key, clientCa.cert);
    try {
      const err = await rejection(
        get(createTlsDialer({ ca: kubeletCa.cert, cert: strangerClient.cert, key: strangerClient.key }), openssl.port, '/'),
      );
      expect(err.code).toBe('ERR_AUTH_FAILED');
      expect(err.message).toMatch(/refused the client certificate/);
      const ok = await get(createTlsDialer({ ca: kubeletCa.cert, ...mtls }), openssl.port, '/');
      expect(ok.status).toBe(200);
    } finally {
      await openssl.close();
    }
  });

  it('fails the dial itself (not the request) with ERR_AUTH_FAILED when TLS 1.2 is forced', async () => {
    // With TLS 1.2 the server's refusal comes inside the handshake, so dial() rejects.
    const legacy = await startHttpsServer({
      cert: serving.cert,
      key: serving.key,
      ca: clientCa.cert,
      requestCert: true,
      rejectUnauthorized: true,
      maxVersion: 'TLSv1.2',
    });
    try {
      const err = await rejection(createTlsDialer({ ca: kubeletCa.cert }).dial(legacy.address, { timeoutMs: 10_000 }));
      expect(err.code).toBe('ERR_AUTH_FAILED');
    } finally {
      await legacy.close();
    }
  });
});
