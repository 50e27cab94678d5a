import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHangingTarget, type HangingTarget } from '@spoke/transport-core/testing';
import { startCli, type CliProcess } from './support/cli-process.js';
import { startTcpServer, type Served } from './support/servers.js';

// Issue 18 §3: the number of connections shutdown says it waits for is the
// spoke_cli_connections_open gauge that --metrics showed just before.

/** The gauge's value on the command's /metrics endpoint. */
async function openGauge(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const match = /^spoke_cli_connections_open (\d+)$/m.exec(text);
  if (!match) throw new Error(`no spoke_cli_connections_open in:\n${text}`);
  return Number(match[1]);
}

/** A client whose bytes went through and came back: the connection is relayed end to end. */
async function echoed(address: string): Promise<net.Socket> {
  const [host = '', port = '0'] = address.split(':');
  const socket = net.connect(Number(port), host);
  socket.on('error', () => {});
  socket.write('ping');
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  return socket;
}

/** The `open` count of the JSON "shutting down" log line after SIGINT. */
async function shutdownCount(cli: CliProcess): Promise<number> {
  const from = cli.stderr.length;
  cli.child.kill('SIGINT');
  const [line = ''] = await cli.stderrMatch(/^\{.*"msg":"shutting down[^"]*".*\}$/m, from);
  return (JSON.parse(line) as { open: number }).open;
}

describe('the shutdown count matches /metrics', () => {
  let echo: Served;
  let hanging: HangingTarget;
  beforeAll(async () => {
    [echo, hanging] = await Promise.all([startTcpServer((s) => s.pipe(s)), createHangingTarget()]);
  });
  afterAll(async () => {
    await Promise.all([echo?.close(), hanging?.close()]);
  });

  it('spoke forward: relayed connections and one still dialling, counted once each', async () => {
    const stuck = `${hanging.target.host}:${hanging.target.port}`;
    const cli = startCli(['--log-format', 'json', 'forward', '-L', `0:${echo.address}`, '-L', `0:${stuck}`, '--metrics', '127.0.0.1:0']);
    const clients: net.Socket[] = [];
    try {
      const [line = ''] = await cli.line(/^\{.*"msg":"listening".*\}$/m);
      const addresses = (JSON.parse(line) as { addresses: string[] }).addresses;
      const [toEcho = '', toHanging = '', metrics = ''] = addresses.map((a) => a.replace(/ -> .*$/, '').replace(/^metrics /, ''));
      clients.push(await echoed(toEcho), await echoed(toEcho));
      const [host = '', port = '0'] = toHanging.split(':');
      clients.push(net.connect(Number(port), host).on('error', () => {}));
      await hanging.attempted();
      const gauge = await openGauge(metrics);
      expect(gauge).toBe(3);
      expect(await shutdownCount(cli)).toBe(gauge);
      // Once they are gone, shutdown ends by itself (no second signal).
      for (const c of clients) c.destroy();
      expect((await cli.exited).code).toBe(0);
    } finally {
      for (const c of clients) c.destroy();
      await cli.stop('SIGKILL');
    }
  });

  it('spoke proxy: a CONNECT tunnel counts as one connection', async () => {
    const cli = startCli(['--log-format', 'json', 'proxy', '--http', '127.0.0.1:0', '--metrics', '127.0.0.1:0']);
    let client: net.Socket | undefined;
    try {
      const [line = ''] = await cli.line(/^\{.*"msg":"listening".*\}$/m);
      const [proxy = '', metrics = ''] = (JSON.parse(line) as { addresses: string[] }).addresses.map((a) =>
        a.replace(/^(http|metrics) /, ''),
      );
      const [host = '', port = '0'] = proxy.split(':');
      client = net.connect(Number(port), host).on('error', () => {});
      client.write(`CONNECT ${echo.address} HTTP/1.1\r\nHost: ${echo.address}\r\n\r\n`);
      await new Promise<void>((resolve) => client?.once('data', () => resolve()));
      const gauge = await openGauge(metrics);
      expect(gauge).toBe(1);
      expect(await shutdownCount(cli)).toBe(gauge);
      client.destroy();
      expect((await cli.exited).code).toBe(0);
    } finally {
      client?.destroy();
      await cli.stop('SIGKILL');
    }
  });
});
