import { describeDialer } from '@spoke/transport-core/testing';
import { createWsSessionPair } from './ws-session-pair.js';

// A spoke/1 session over WebSocket is a Dialer: the initiator dials, the responder connects targets with direct TCP.
describeDialer('spoke/1 session over ws', async () => {
  const pair = await createWsSessionPair();
  await pair.initiator.ready();
  return { dialer: pair.initiator, teardown: () => pair.close() };
});
