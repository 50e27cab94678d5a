import { describeDialer, createSessionPair, type PairCarrier } from '@spoke/transport-core/testing';

// A spoke/1 session is a Dialer: the initiator dials, the responder connects targets with direct TCP.
for (const carrier of ['memory', 'tcp'] as PairCarrier[]) {
  describeDialer(`spoke/1 session over ${carrier}`, async () => {
    const pair = await createSessionPair(carrier);
    await pair.initiator.ready();
    return { dialer: pair.initiator, teardown: () => pair.close() };
  });
}
