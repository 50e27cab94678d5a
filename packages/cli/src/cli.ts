import { createDialerRegistry, createLogger, isAbortError, isSpokeError, type DialerRegistry, type LogLevel } from '@spoke/transport-core';
import { GLOBAL_OPTIONS, formatHelp, parseCommandLine } from './args.js';
import type { CliIo, Command, CommandContext } from './command.js';
import { COMMANDS, type CommandEntry } from './commands/index.js';
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, EXIT_USAGE, UsageError, describeError, exitCodeFor, scrub } from './errors.js';
import { loadCliSchemes, schemesNamedIn } from './schemes.js';
import { packageVersion } from './version.js';

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** Aborted on SIGINT/SIGTERM (main.ts wires the signals). Default: never. */
  shutdown?: AbortSignal;
  /**
   * The URI schemes available. Default: `tcp://` and the backends of
   * `CLI_BACKENDS` that the command line names (every one for help and
   * top-level usage errors), imported on use.
   */
  registry?: DialerRegistry;
  /** The command table: commands, or entries that import theirs when run. Default: every built-in command. */
  commands?: readonly (Command | CommandEntry)[];
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const FORMATS = ['text', 'json'] as const;

/**
 * Runs `spoke` with `argv` (the words after the program name) and resolves to
 * the exit status: 0 ok, 1 runtime failure, 2 usage error. Never throws.
 */
export async function runCli(argv: readonly string[], io: CliIo, options: RunCliOptions = {}): Promise<number> {
  const commands = options.commands ?? COMMANDS;
  const version = packageVersion();
  let commandName = 'spoke';
  let jsonLogs = false;
  try {
    const { format, level } = logFlags(argv);
    jsonLogs = format === 'json';
    const split = commandIndex(argv);
    const leading = split < 0 ? argv : argv.slice(0, split);
    const entry = split < 0 ? undefined : commands.find((c) => c.name === argv[split]);
    const registry = options.registry ?? (await registryFor(argv, everyBackend(argv, leading, split, entry)));
    const logger = createLogger({ format, level, write: (line) => io.stderr.write(line) });
    const context: CommandContext = {
      io,
      logger,
      registry,
      shutdown: options.shutdown ?? new AbortController().signal,
      version,
      logFormat: format,
    };
    const top = parseTop(leading, commands, registry);
    if (top.help) {
      io.stdout.write(topHelp(commands, registry));
      return EXIT_OK;
    }
    if (top.version) {
      io.stdout.write(`spoke ${version}\n`);
      return EXIT_OK;
    }
    if (split < 0) throw new UsageError('missing command', topHelp(commands, registry));
    let rest = argv.slice(split + 1);
    let name = argv[split] ?? '';
    if (name === 'version' && rest.length === 0) {
      // `spoke version` is `spoke --version`.
      io.stdout.write(`spoke ${version}\n`);
      return EXIT_OK;
    }
    if (name === 'help') {
      // `spoke help dial` is `spoke dial --help`.
      name = rest[0] ?? '';
      if (name === '') {
        io.stdout.write(topHelp(commands, registry));
        return EXIT_OK;
      }
      rest = ['--help'];
    }
    const found = commands.find((c) => c.name === name);
    if (!found) throw new UsageError(`unknown command ${JSON.stringify(name)}`, topHelp(commands, registry));
    commandName = `spoke ${found.name}`;
    const command = 'run' in found ? found : await found.load();
    return await command.run(rest, context);
  } catch (err) {
    if (err instanceof UsageError) {
      // Under a command, the synopsis is enough (the message itself lists accepted URI/target forms); --help has the rest.
      const usage =
        commandName === 'spoke'
          ? err.usage
          : `${synopsis(err.usage)}\nRun "${commandName} --help" for every option and the accepted URI forms.\n`;
      io.stderr.write(`${commandName}: ${describeError(err)}\n${err.usage ? `\n${usage}` : ''}`);
      return EXIT_USAGE;
    }
    // A dial cut short by Ctrl-C (or SIGTERM) reports the signal, as shells do, not a failure.
    const shutdown = options.shutdown;
    if (isAbortError(err) && shutdown?.aborted) {
      io.stderr.write(`${commandName}: interrupted\n`);
      return interruptedExit(shutdown.reason);
    }
    // With --log-format json every stderr line stays machine-readable.
    if (jsonLogs)
      io.stderr.write(
        `${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: describeError(err), command: commandName, ...errorFields(err) })}\n`,
      );
    else io.stderr.write(`${commandName}: ${describeError(err)}\n`);
    return exitCodeFor(err);
  }
}

function interruptedExit(reason: unknown): number {
  return typeof reason === 'object' && reason !== null && (reason as { signal?: unknown }).signal === 'SIGTERM'
    ? EXIT_TERMINATED
    : EXIT_INTERRUPTED;
}

function errorFields(err: unknown): Record<string, string> {
  return isSpokeError(err)
    ? { code: err.code, ...(err.target ? { target: err.target } : {}), ...(err.hop ? { hop: scrub(err.hop) } : {}) }
    : {};
}

function synopsis(help: string): string {
  const end = help.indexOf('\n\n');
  return end < 0 ? help : help.slice(0, end + 1);
}

// --log-format/--log-level may appear anywhere (before or after the command), so read them first.
function logFlags(argv: readonly string[]): { format: 'text' | 'json'; level: LogLevel } {
  let format: string = 'text';
  let level: string = 'info';
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? '';
    if (word === '--') break;
    const [flag, inline] =
      word.startsWith('--') && word.includes('=')
        ? [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]
        : [word, undefined];
    if (flag !== '--log-format' && flag !== '--log-level') continue;
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (flag === '--log-format') format = value;
    else level = value;
  }
  if (!(FORMATS as readonly string[]).includes(format))
    throw new UsageError(`--log-format must be text or json, got ${JSON.stringify(format)}`);
  if (!(LEVELS as readonly string[]).includes(level))
    throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  return { format: format as 'text' | 'json', level: level as LogLevel };
}

// The first word that is neither a flag nor the value of a leading --log-* flag.
function commandIndex(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? '';
    if (word === '--log-format' || word === '--log-level') i++;
    else if (!word.startsWith('-') || word === '-') return i;
  }
  return -1;
}

function parseTop(
  leading: readonly string[],
  commands: readonly (Command | CommandEntry)[],
  registry: DialerRegistry,
): { help: boolean; version: boolean } {
  const parsed = parseCommandLine(
    leading,
    { version: { type: 'boolean', short: 'V', description: 'print the version' } },
    topHelp(commands, registry),
    { max: 0 },
  );
  return { help: parsed.values.help === true, version: parsed.values.version === true };
}

function topHelp(commands: readonly (Command | CommandEntry)[], registry: DialerRegistry): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return formatHelp(
    'spoke [--log-format text|json] [--log-level LEVEL] COMMAND [ARGS...]',
    'Tunnels between a control plane and the machines it manages: dial, forward and proxy through\nTLS, HTTP CONNECT, SSH and tunnel hops. `spoke COMMAND --help` shows each command.',
    { version: { type: 'boolean', short: 'V', description: 'print the version and exit' }, ...GLOBAL_OPTIONS },
    [
      [
        'Commands',
        [...commands.map((c) => `${c.name.padEnd(width)}${c.summary}`), `${'version'.padEnd(width)}print the version (as --version)`].join(
          '\n',
        ),
      ],
      ['Dialer URIs (--via, --route)', registry.usage()],
      ['Exit status', '0 ok, 1 runtime failure, 2 usage error, 130/143 interrupted by SIGINT/SIGTERM while work was in flight'],
    ],
  );
}

// Help and top-level usage errors list every URI form, so they load every backend; `--version` none.
function everyBackend(
  argv: readonly string[],
  leading: readonly string[],
  split: number,
  entry: Command | CommandEntry | undefined,
): boolean {
  if (argv.some((word) => word === '--help' || /^-[A-Za-z]*h/.test(word))) return true;
  if (entry) return false;
  // `spoke help`, `spoke help CMD` and an unknown command show help; `spoke version` does not.
  if (split >= 0) return argv[split] !== 'version';
  const versionOnly = (word: string, i: number): boolean =>
    ['--version', '-V', '--log-format', '--log-level'].includes(word) ||
    /^--log-(format|level)=/.test(word) ||
    /^--log-(format|level)$/.test(leading[i - 1] ?? '');
  return !leading.every(versionOnly);
}

async function registryFor(argv: readonly string[], every: boolean): Promise<DialerRegistry> {
  return createDialerRegistry(await loadCliSchemes(every ? undefined : schemesNamedIn(argv)));
}
