import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import net from 'node:net';
import type tls from 'node:tls';

/** A running HTTPS server on 127.0.0.1 port 0. */
export interface TestHttpsServer {
  port: number;
  /** `127.0.0.1:port`. */
  address: string;
  close(): Promise<void>;
}

/**
 * A kubelet-shaped HTTPS server: `/healthz` answers `ok <client CN>` where the
 * CN is that of the verified client certificate (or `anonymous`).
 */
export async function startHttpsServer(options: tls.TlsOptions): Promise<TestHttpsServer> {
  const sockets = new Set<net.Socket>();
  const server = https.createServer(options, (req, res) => {
    const peer = (req.socket as tls.TLSSocket).getPeerCertificate?.();
    const cn = peer && typeof peer.subject?.CN === 'string' ? peer.subject.CN : 'anonymous';
    res.setHeader('content-type', 'text/plain');
    res.end(req.url === '/healthz' ? `ok ${cn}` : 'not found');
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A TCP server on 127.0.0.1 that sends `banner` as soon as a client connects, then echoes. */
export async function startBannerServer(banner: string): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.write(banner);
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * `openssl s_server -www` requiring a client certificate signed by `clientCa`.
 * Unlike Node's https server (which checks client certificates in JavaScript
 * after the handshake and just closes), OpenSSL answers an untrusted client
 * certificate with a TLS alert, as Go's kubelet does.
 */
export async function startOpenSslServer(cert: string, key: string, clientCa: string): Promise<{ port: number; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'spoke-openssl-'));
  await Promise.all([
    writeFile(join(dir, 'cert.pem'), cert),
    writeFile(join(dir, 'key.pem'), key),
    writeFile(join(dir, 'ca.pem'), clientCa),
  ]);
  // stdbuf: openssl block-buffers stdout on a pipe, and the ACCEPT line (with the port) would never arrive.
  const child = spawn(
    'stdbuf',
    [
      '-oL',
      'openssl',
      's_server',
      '-accept',
      '127.0.0.1:0',
      '-cert',
      'cert.pem',
      '-key',
      'key.pem',
      '-CAfile',
      'ca.pem',
      '-Verify',
      '1',
      '-verify_return_error',
      '-www',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr.resume();
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`openssl s_server did not report its port: ${out}`));
    }, 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`openssl s_server exited with ${code}: ${out}`));
    });
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /ACCEPT 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  child.stdout.resume();
  return {
    port,
    async close() {
      child.removeAllListeners('exit');
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
