import http2 from 'node:http2';
import net from 'node:net';
import { join } from 'node:path';
import { once } from 'node:events';
import { expect, it } from 'vitest';
import { waitFor } from '@spoke/transport-core/testing';
import { FLOW_WINDOW } from '../src/grpc/flow-window.js';
import { ourServer } from './our-peers.js';
import { createTestPki, removePki } from './upstream/harness.js';

// Without it bulk transfers drop to Node's 64 KiB window, and nothing else would notice.
it('our server announces its 4 MiB HTTP/2 stream window to a client', async () => {
  const pki = createTestPki();
  const uds = join(pki.dir, 'k.sock');
  const server = await ourServer(pki, 'grpc', uds);
  const session = http2.connect('http://localhost', { createConnection: () => net.connect(uds) });
  try {
    // Node sends its defaults first; the server's own SETTINGS follow once the session is up.
    await once(session, 'remoteSettings');
    await waitFor(
      () => session.remoteSettings.initialWindowSize === FLOW_WINDOW,
      'the server to announce a 4 MiB stream window',
      5_000,
    ).catch(() => undefined);
    expect(session.remoteSettings.initialWindowSize).toBe(FLOW_WINDOW);
  } finally {
    session.destroy();
    await server.close();
    removePki(pki);
  }
});
