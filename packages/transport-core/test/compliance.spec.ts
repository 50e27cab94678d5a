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
      let attempt!: () => void;
      const attempted = new Promise<void>((r) => (attempt = r));
      const stop = dialer.listen('hang.memory:1', () => {}, {
        accept: (signal) => {
          attempt();
          return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
        },
      });
      return { target: 'hang.memory:1', attempted: () => attempted, close: async () => stop() };
    },
  };
});
