import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { formatTarget } from '@spoke/transport-core';
import { closed, closedTcpPort, echo, readAll, serveTcp, type ServedTarget } from '@spoke/transport-core/testing';

const where = (target: ServedTarget['target']): string => (typeof target === 'string' ? target : formatTarget(target));
import { main } from '../custom-tcp-proxy.js';

/** Runs the example until `stop()`; `listening` resolves with the proxy's address from its first output line. */
function runProxy(target: string) {
  const lines: string[] = [];
  const controller = new AbortController();
  let announce: (address: string) => void = () => {};
  const listening = new Promise<string>((resolve) => (announce = resolve));
  const exited = main({
    listen: '127.0.0.1:0',
    target,
    signal: controller.signal,
    log: (line) => {
      lines.push(line);
      const m = /^listening on (\S+),/.exec(line);
      if (m?.[1] !== undefined) announce(m[1]);
    },
  });
  return {
    lines,
    listening: Promise.race([listening, exited.then(() => Promise.reject(new Error(lines.join('\n'))))]),
    stop: () => (controller.abort(), exited),
  };
}

async function connect(address: string): Promise<net.Socket> {
  const socket = net.connect(Number(address.split(':')[1]), '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

describe('examples/custom-tcp-proxy', () => {
  let service: ServedTarget | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('pipes each connection through the dialer, half-close included', async () => {
    service = await serveTcp(echo);
    const proxy = runProxy(where(service.target));
    const address = await proxy.listening;
    const socket = await connect(address);
    socket.end('hello through the proxy');
    expect((await readAll(socket)).toString()).toBe('hello through the proxy');
    expect(await proxy.stop()).toBe(0);
    expect(proxy.lines.at(-1)).toBe('closed after 1 connection(s)');
  });

  it('closes open connections and stops listening on shutdown', async () => {
    service = await serveTcp(echo);
    const proxy = runProxy(where(service.target));
    const address = await proxy.listening;
    const socket = await connect(address);
    socket.write('ping');
    await new Promise((resolve) => socket.once('data', resolve));
    const gone = closed(socket);
    expect(await proxy.stop()).toBe(0);
    await gone;
    await expect(connect(address)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('closes the client and logs the SpokeError code when the target refuses', async () => {
    const target = formatTarget(await closedTcpPort());
    const proxy = runProxy(target);
    const socket = await connect(await proxy.listening);
    await closed(socket);
    expect(await proxy.stop()).toBe(0);
    expect(proxy.lines).toContain(`connection 1: ERR_DIAL_REFUSED: ${target} cannot be reached, client closed`);
  });
});
