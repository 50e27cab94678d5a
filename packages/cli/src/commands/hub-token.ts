import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { booleanFlag, formatHelp, parseOrHelp, stringFlag, type OptionDefs } from '../args.js';
import type { Command } from '../command.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, inputStep } from '../errors.js';
import { appendTokenLine, hubStateFiles, newToken, parseTokenLines, tokenPrefix, writeTokenLines, type TokenLine } from '../hub-state.js';

const OPTIONS: OptionDefs = {
  'state-dir': { type: 'string', value: 'DIR', description: 'the hub state directory (as `spoke hub init` made it; required)' },
  agent: {
    type: 'string',
    value: 'ID',
    description: 'create: a token bound to agent ID (its holder may announce only ID); revoke: every token bound to ID',
  },
  client: { type: 'boolean', description: 'create: a client token (spoke+wss:// token-file=, the CONNECT front end)' },
  out: { type: 'string', value: 'FILE', description: 'create: write the token to FILE (0600, must not exist) instead of printing it' },
  'token-prefix': { type: 'string', value: 'HEX', description: 'revoke: the token whose sha256 starts with HEX (as `list` shows it)' },
};

const SYNOPSIS = `spoke hub token create --state-dir DIR (--agent ID | --client) [--out FILE]
       spoke hub token list --state-dir DIR
       spoke hub token revoke --state-dir DIR (--agent ID | --token-prefix HEX)`;

/** The lines of a state token file, with the role it grants. */
function readRole(path: string, role: 'agent' | 'client'): TokenLine[] {
  if (!existsSync(path)) return [];
  return parseTokenLines(readFileSync(path, 'utf8'), path, role === 'agent');
}

const lineText = (t: TokenLine): string => (t.id !== undefined ? `${t.id} ${t.token}` : t.token);

/** `spoke hub token create|list|revoke`: manage the tokens of a hub state directory. */
export const hubTokenCommand: Command = {
  name: 'hub token',
  summary: "create, list and revoke the tokens in a hub's state directory",
  help: () =>
    formatHelp(
      SYNOPSIS,
      "Edits the token files of a hub state directory (agent-tokens: 'ID TOKEN' or 'TOKEN' a line;\nclient-tokens: 'TOKEN' a line; both 0600). A new token is shown once; `list` shows ids and the first\nhex digits of each token's sha256, never a token. A running `spoke hub` notices a changed token\nfile within a second and reads it again: new connections use the new tokens, sessions already\nopen stay up (restart an agent, or the hub, to cut a revoked one off).",
      OPTIONS,
    ),
  // Synchronous file edits; async for the Command interface.
  // eslint-disable-next-line @typescript-eslint/require-await
  async run(argv, context) {
    const parsed = parseOrHelp(argv, hubTokenCommand, context, OPTIONS, { min: 1, max: 1 });
    if (!parsed) return EXIT_OK;
    const { values, usage, positionals } = parsed;
    const dir = stringFlag(values, 'state-dir');
    if (dir === undefined) throw new UsageError('--state-dir DIR is required', usage);
    const files = hubStateFiles(dir);
    if (!existsSync(files.dir))
      throw new UsageError(`ERR_BAD_OPTION: --state-dir ${dir}: ${files.dir} does not exist; run spoke hub init first`, usage);
    const agent = stringFlag(values, 'agent');
    const client = booleanFlag(values, 'client');
    const out = context.io.stdout;
    const roles = (): Array<['agent' | 'client', string, TokenLine[]]> =>
      inputStep(usage, () => [
        ['agent', files.agentTokens, readRole(files.agentTokens, 'agent')],
        ['client', files.clientTokens, readRole(files.clientTokens, 'client')],
      ]);
    switch (positionals[0]) {
      case 'create': {
        if ((agent !== undefined) === client) throw new UsageError('token create needs one of --agent ID or --client', usage);
        if (agent !== undefined && (agent === '' || /\s/.test(agent))) throw new UsageError('--agent ID must be one word', usage);
        const token = newToken();
        const outFile = stringFlag(values, 'out');
        if (outFile !== undefined) {
          try {
            writeFileSync(resolve(process.cwd(), outFile), `${token}\n`, { mode: 0o600, flag: 'wx' });
          } catch (err) {
            throw new UsageError(
              `ERR_BAD_OPTION: --out ${outFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (it must not exist)`,
              usage,
            );
          }
        }
        appendTokenLine(agent !== undefined ? files.agentTokens : files.clientTokens, agent !== undefined ? `${agent} ${token}` : token);
        const what = agent !== undefined ? `agent token for ${agent}` : 'client token';
        out.write(outFile !== undefined ? `${what} ${tokenPrefix(token)} written to ${outFile}\n` : `${token}\n`);
        if (outFile === undefined) context.logger.info(`${what} ${tokenPrefix(token)} created; it is not shown again`);
        return EXIT_OK;
      }
      case 'list': {
        for (const [role, , lines] of roles()) {
          for (const t of lines)
            out.write(`${role.padEnd(7)}${(t.id ?? (role === 'agent' ? '(any id)' : '-')).padEnd(24)} sha256:${tokenPrefix(t.token)}\n`);
        }
        return EXIT_OK;
      }
      case 'revoke': {
        const prefix = stringFlag(values, 'token-prefix')
          ?.replace(/^sha256:/, '')
          .toLowerCase();
        if ((agent !== undefined) === (prefix !== undefined))
          throw new UsageError('token revoke needs one of --agent ID or --token-prefix HEX', usage);
        if (prefix !== undefined && !/^[0-9a-f]{6,}$/.test(prefix))
          throw new UsageError('--token-prefix needs at least 6 hex digits', usage);
        const matches = (t: TokenLine): boolean => (agent !== undefined ? t.id === agent : tokenPrefix(t.token).startsWith(prefix ?? ''));
        const all = roles();
        const hits = all.flatMap(([role, , lines]) => lines.filter(matches).map((t) => ({ role, ...t })));
        if (hits.length === 0) {
          context.logger.error(`no token matches ${agent !== undefined ? `--agent ${agent}` : `--token-prefix ${prefix}`}`);
          return EXIT_FAILURE;
        }
        if (prefix !== undefined && hits.length > 1)
          throw new UsageError(`--token-prefix ${prefix} matches ${hits.length} tokens; give more digits`, usage);
        for (const [, path, lines] of all) {
          const kept = lines.filter((t) => !matches(t));
          if (kept.length !== lines.length) writeTokenLines(path, kept.map(lineText));
        }
        for (const t of hits)
          out.write(`revoked ${t.role} ${t.id ?? (t.role === 'agent' ? '(any id)' : '-')} sha256:${tokenPrefix(t.token)}\n`);
        return EXIT_OK;
      }
      default:
        throw new UsageError(`unknown token action "${positionals[0]}": create, list or revoke`, usage);
    }
  },
};
