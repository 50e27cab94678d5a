import { createMemoryDialer, createNetDialer } from '@spoke/transport-core';
import { abortReasonAsError } from '@spoke/transport-core/utils';
import { describeDialer } from '@spoke/transport-core/testing';

describeDialer('net (TCP on 127.0.0.1)', () => ({ dialer: createNetDialer() }));

describeDialer('memory', () => {
  const dialer = createMemoryDialer();
  let n = 0;
  return {
    dialer,
    serve(handler) {
      const address = `svc.memory:${++n}`;
      const stop = dialer.listen(address, handler);
      return { target: address, close: () => Promise.resolve(stop()) };
    },
    refusedTarget() {
      dialer.listen('refuser.memory:1', () => {});
      return 'refuser.memory:2';
    },
    hangingTarget() {
      let attempt!: () => void;
      const attempted = new Promise<void>((r) => (attempt = r));
      const stop = dialer.listen('hang.memory:1', () => {}, {
        accept: (signal) => {
          attempt();
          return new Promise((_, reject) =>
            signal.addEventListener('abort', () => reject(abortReasonAsError(signal.reason)), { once: true }),
          );
        },
      });
      return { target: 'hang.memory:1', attempted: () => attempted, close: () => Promise.resolve(stop()) };
    },
  };
});
