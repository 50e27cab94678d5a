import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { relative } from 'node:path';
import { booleanFlag, formatHelp, parseOrHelp, stringFlag, type OptionDefs } from '../args.js';
import { parseListenAddress } from '../addresses.js';
import type { Command } from '../command.js';
import { EXIT_OK, UsageError, inputStep } from '../errors.js';
import { hubNames, openHubState } from '../hub-state.js';

const OPTIONS: OptionDefs = {
  'state-dir': { type: 'string', value: 'DIR', description: 'the state directory `spoke hub --state-dir` will use (required)' },
  listen: {
    type: 'string',
    value: 'HOST:PORT',
    description: 'where the hub will listen (default 127.0.0.1:8443): its certificate names HOST, and the printed URLs use it',
  },
  'show-tokens': {
    type: 'boolean',
    description: "also print the tokens in the state's token files (secrets: mind the terminal's scrollback)",
  },
};

/** A path as the user would type it: relative to the working directory when under it. */
const shown = (path: string): string => {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') ? rel : path;
};

/** `spoke hub init --state-dir DIR`: makes the hub's identity once and prints what agents and clients need. */
export const hubInitCommand: Command = {
  name: 'hub init',
  summary: "create a hub state directory and print the hub's fingerprint and ready agent/client lines",
  help: () =>
    formatHelp(
      'spoke hub init --state-dir DIR [--listen HOST:PORT] [--show-tokens]',
      'Creates what is missing in DIR (0700): a self-signed serving certificate (tls.crt, tls.key) and one\ntoken per role (agent-tokens, client-tokens), every file 0600; files already there are kept, so running\nit again changes nothing. Prints the hub URL, the certificate fingerprint agents and clients pin, and\nspoke command lines to paste. Token values are printed only with --show-tokens.',
      OPTIONS,
    ),
  // Synchronous work; async for the Command interface.
  // eslint-disable-next-line @typescript-eslint/require-await
  async run(argv, context) {
    const parsed = parseOrHelp(argv, hubInitCommand, context, OPTIONS, { max: 0 });
    if (!parsed) return EXIT_OK;
    const { values, usage } = parsed;
    const dir = stringFlag(values, 'state-dir');
    if (dir === undefined) throw new UsageError('--state-dir DIR is required', usage);
    const listenText = stringFlag(values, 'listen') ?? '127.0.0.1:8443';
    const address = parseListenAddress(listenText, 'listen', usage);
    const state = inputStep(usage, () => openHubState(dir, hubNames(address.host)));
    const { files, fingerprint } = state;
    const wildcard = address.host === '0.0.0.0' || address.host === '::';
    const host = wildcard ? hostname() : address.host.includes(':') ? `[${address.host}]` : address.host;
    const url = `wss://${host}:${address.port}`;
    const stateArg = shown(files.dir);
    const lines = [
      `state:        ${files.dir} (${state.created.length > 0 ? `created ${state.created.map((p) => shown(p)).join(', ')}` : 'already complete, unchanged'})`,
      `hub:          ${url}`,
      `fingerprint:  ${fingerprint}`,
      `certificate:  ${files.cert}  (names: ${hubNames(address.host).join(', ')})`,
      `tokens:       ${files.agentTokens}, ${files.clientTokens}`,
      '',
      'Run the hub (it reuses this identity on every start):',
      `  spoke hub --state-dir ${stateArg} --listen ${listenText}`,
      'Give each agent a token bound to its id (printed once, or written to a 0600 file with --out):',
      `  spoke hub token create --state-dir ${stateArg} --agent node-1 --out node-1.token`,
      `  spoke agent --hub ${url} --id node-1 --token-file node-1.token --hub-fingerprint ${fingerprint} --allow 10.0.0.0/8`,
      'Clients:',
      `  spoke hub token create --state-dir ${stateArg} --client --out client.token`,
      `  spoke dial HOST:PORT --via 'spoke+wss://${host}:${address.port}/?token-file=client.token&fingerprint=${fingerprint}'`,
      ...(wildcard
        ? ['', `(${host} stands for the name agents and clients reach this machine by; the certificate pin does not depend on it.)`]
        : []),
    ];
    if (booleanFlag(values, 'show-tokens')) {
      lines.push('', 'Tokens (secrets):');
      for (const [role, path] of [
        ['agent', files.agentTokens],
        ['client', files.clientTokens],
      ] as const) {
        for (const line of readFileSync(path, 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== ''))
          lines.push(`  ${role}: ${line.trim()}`);
      }
    }
    context.io.stdout.write(`${lines.join('\n')}\n`);
    return EXIT_OK;
  },
};
