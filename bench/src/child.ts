/**
 * Entry point of a benchmark child process: `child.ts <role> <json args>`.
 * The role starts its servers, reports `{ ready: info }` over IPC, then answers
 * `{ id, cmd, args }` messages with `{ id, result | error }`.
 */
import { cpuMicros, sampleMemory } from './memory.js';
import { startHolder } from './roles/holder.js';
import { startKonnectivityAgent, startKonnectivityServer } from './roles/konnectivity.js';
import { startSpokeAgent, startSpokeHub } from './roles/spoke-hub.js';
import { startSpokeRelay } from './roles/spoke-relay.js';
import { startTarget } from './roles/target.js';
import { startTcpRelay } from './roles/tcp-relay.js';
import { startTlsRelay } from './roles/tls-relay.js';
import type { Role } from './roles/role.js';

const starters: Record<string, (args: Record<string, unknown>) => Role | Promise<Role>> = {
  target: startTarget,
  'tcp-relay': startTcpRelay,
  'tls-relay': startTlsRelay,
  'spoke-relay': startSpokeRelay,
  holder: startHolder,
  'konnectivity-server': startKonnectivityServer,
  'konnectivity-agent': startKonnectivityAgent,
  'spoke-hub': startSpokeHub,
  'spoke-agent': startSpokeAgent,
};

const [name = '', json = '{}'] = process.argv.slice(2);
const start = starters[name];
if (start === undefined || process.send === undefined) {
  console.error(`child.ts: unknown role "${name}" or no IPC channel; it is started by src/proc.ts.`);
  process.exit(2);
}
const send = process.send.bind(process);
const role = await start(JSON.parse(json) as Record<string, unknown>);

async function handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
  if (cmd === 'memory') return sampleMemory();
  if (cmd === 'cpu') return cpuMicros();
  if (cmd === 'exit') {
    await role.close();
    // Exit from the next turn so the reply goes out; --cpu-prof writes its profile on exit.
    setImmediate(() => process.exit(0));
    return null;
  }
  const command = role.commands[cmd];
  if (command === undefined) throw new Error(`role ${name} has no command "${cmd}"`);
  return command(args);
}

process.on('message', (m: { id: number; cmd: string; args: Record<string, unknown> }) => {
  handle(m.cmd, m.args).then(
    (result) => send({ id: m.id, result }),
    (err: unknown) => send({ id: m.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
// The parent went away (crash, Ctrl-C): do not linger.
process.on('disconnect', () => process.exit(0));
send({ ready: role.info });
