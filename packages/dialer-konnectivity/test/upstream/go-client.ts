import { spawn } from 'node:child_process';
import { upstream, type TestPki } from './harness.js';

/** What one run of the Go test client saw. */
export interface GoClientResult {
  connected: boolean;
  stdout: Buffer;
  stderr: string;
  code: number | null;
}

/**
 * Runs our Go test client (upstream's konnectivity-client library in gRPC
 * mode, or a Go HTTP CONNECT), sends `input` and half-closes its stdin, and
 * collects what came back until the connection ended.
 */
export function runGoClient(args: string[], input: Buffer | string): Promise<GoClientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(upstream().client, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ connected: err.includes('CONNECTED'), stdout: Buffer.concat(out), stderr: err, code }));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** The Go client's arguments for http-connect over mTLS to a front end on 127.0.0.1:`port`, with the test PKI's client certificate. */
export function goMtlsConnectArgs(pki: TestPki, port: number | undefined, target: string): string[] {
  return [
    '-mode',
    'http-connect',
    '-addr',
    `127.0.0.1:${port}`,
    '-ca',
    pki.ca,
    '-cert',
    pki.clientCert,
    '-key',
    pki.clientKey,
    '-target',
    target,
  ];
}
