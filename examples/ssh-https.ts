/**
 * One https request through an SSH tunnel (`direct-tcpip` over OpenSSH),
 * then a clean exit: the agent's pooled socket is destroyed and the dialer
 * closed, so nothing holds the event loop and the process ends by itself.
 *
 *   npm run ssh-https -- --ssh ops@bastion:22 --key ~/.ssh/id_ed25519 \
 *       --known-hosts ~/.ssh/known_hosts [--ca ca.pem] https://10.0.0.5:6443/healthz
 */
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createHttpsAgent } from '@spoke/transport-core';
import { createSshDialer } from '@spoke/dialer-ssh';
import { reportFailure, runIfMain, type ExampleContext } from './program.js';

export interface SshHttpsOptions extends ExampleContext {
  /** The SSH server (the bastion) and how to log in. */
  ssh: { host: string; port?: number; username: string; privateKeyFile: string; knownHostsFile: string };
  /** The https URL, as seen from the SSH server (names resolve there). */
  url: string;
  /** PEM bundle that signed the target's certificate. Default: Node's CA store. */
  ca?: string;
}

/** GETs `url` through the SSH server, prints the status and body, and closes everything. Resolves to an exit code. */
export async function main({ ssh, url, ca, signal, log = console.log }: SshHttpsOptions): Promise<number> {
  const dialer = createSshDialer({ ...ssh, readyTimeoutMs: 10_000 });
  // TLS runs end to end inside the SSH channel: the bastion sees only ciphertext.
  const agent = createHttpsAgent(dialer, ca === undefined ? {} : { ca });
  try {
    const { status, body } = await get(url, agent, signal);
    log(`${status} ${body}`);
    return 0;
  } catch (err) {
    return reportFailure(err, { signal, log }, (spoke) => {
      switch (spoke.code) {
        case 'ERR_HOST_KEY_UNKNOWN':
        case 'ERR_HOST_KEY_MISMATCH':
          return "the SSH server's host key is not the one in known_hosts; check it out of band before trusting it";
        case 'ERR_AUTH_FAILED':
          return 'the SSH server refused the key';
        case 'ERR_DIAL_DENIED':
          return 'the SSH server does not forward to this target (AllowTcpForwarding, PermitOpen)';
        default:
          return spoke.message;
      }
    });
  } finally {
    // Keep-alive sockets would keep the SSH connection (and the process) alive: drop them, then close the dialer.
    agent.destroy();
    await dialer.close();
  }
}

function get(url: string, agent: https.Agent, signal: AbortSignal): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { agent, signal }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

runIfMain(import.meta.url, async (context, argv) => {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ssh: { type: 'string' }, key: { type: 'string' }, 'known-hosts': { type: 'string' }, ca: { type: 'string' } },
  });
  const login = /^([^@]+)@(.+?)(?::(\d+))?$/.exec(values.ssh ?? '');
  const [url] = positionals;
  if (!login || url === undefined || values.key === undefined || values['known-hosts'] === undefined) {
    context.log('usage: ssh-https --ssh USER@HOST[:PORT] --key FILE --known-hosts FILE [--ca FILE] URL');
    return 2;
  }
  const [, username = '', host = '', port] = login;
  return main({
    ...context,
    url,
    ssh: { host, username, privateKeyFile: values.key, knownHostsFile: values['known-hosts'], ...(port ? { port: Number(port) } : {}) },
    ...(values.ca === undefined ? {} : { ca: await readFile(values.ca, 'utf8') }),
  });
});
