import { createMemoryDialer, createNetDialer } from '@spoke/transport-core';
import { describeDialer } from '@spoke/transport-core/testing';

describeDialer('net (TCP on 127.0.0.1)', async () => ({ dialer: createNetDialer() }));

describeDialer('memory', async () => {
  const dialer = createMemoryDialer();
  let n = 0;
  return {
    dialer,
    async serve(handler) {
      const address = `svc.memory:${++n}`;
      const stop = dialer.listen(address, handler);
      return { target: address, close: async () => stop() };
    },
    async refusedTarget() {
      dialer.listen('refuser.memory:1', () => {});
      return 'refuser.memory:2';
    },
    async hangingTarget() {
      const stop = dialer.listen('hang.memory:1', () => {}, {
        accept: (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
      });
      return { target: 'hang.memory:1', close: async () => stop() };
    },
  };
});
