import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAgentCall, type AgentCallOptions } from '../src/agent/agent-call.js';
import { GrpcCode, GrpcStatusError } from '../src/grpc/grpc-message.js';
import { dataPacket, type Packet } from '../src/packets.js';
import { GrpcServer } from '../src/grpc/grpc-server.js';
import type { PacketCall } from '../src/packet-call.js';
import { packetCodec } from '../src/packet-codec.js';
import { createTestPki, removePki, type TestPki } from './upstream/harness.js';

// The agent's own gRPC client (node:http2) against our GrpcServer over mTLS.
describe('openAgentCall', () => {
  let pki: TestPki;
  let server: GrpcServer<Packet>;
  let port: number;
  let behaviour: (call: PacketCall) => void = () => {};

  beforeAll(async () => {
    pki = createTestPki();
    server = new GrpcServer({
      codec: packetCodec,
      tls: { cert: pki.serverCertPem, key: pki.serverKeyPem, ca: pki.caPem, requestCert: true },
      routes: { '/AgentService/Connect': (call) => behaviour(call) },
    });
    port = (await server.listen({ port: 0, host: '127.0.0.1' })) ?? 0;
  });
  afterAll(() => {
    server.destroy();
    removePki(pki);
  });

  const options = (extra: Partial<AgentCallOptions> = {}): AgentCallOptions => ({
    host: '127.0.0.1',
    port,
    ca: pki.caPem,
    cert: pki.clientCertPem,
    key: pki.clientKeyPem,
    metadata: { agentid: 'a-1', agentidentifiers: 'host=n1' },
    keepaliveTimeMs: 0,
    handshakeTimeoutMs: 5_000,
    ...extra,
  });

  it('sends the metadata, reads the response headers, carries packets both ways and reports a failing status', async () => {
    const seen: string[][] = [];
    behaviour = (call) => {
      seen.push([...call.metadata('agentid'), ...call.metadata('agentidentifiers')]);
      call.sendHeaders({ serverid: 's-1', servercount: '2' });
      call.on('data', (p) => {
        call.write(p);
        call.end(GrpcCode.INTERNAL, 'server says: bye — now');
      });
    };
    const { call, metadata } = await openAgentCall(options());
    expect(seen).toEqual([['a-1', 'host=n1']]);
    expect(metadata('serverid')).toEqual(['s-1']);
    expect(metadata('servercount')).toEqual(['2']);
    const got: Packet[] = [];
    call.on('data', (p) => got.push(p));
    const failed = once(call, 'error');
    call.write(dataPacket(3n, Buffer.from('hello')));
    const [err] = (await failed) as [GrpcStatusError];
    expect(got.map((p) => p.data?.data.toString())).toEqual(['hello']);
    expect(err).toBeInstanceOf(GrpcStatusError);
    expect([err.code, err.details]).toEqual([GrpcCode.INTERNAL, 'server says: bye — now']);
  });

  it('rejects with the status of a refusal (trailers-only answer)', async () => {
    behaviour = (call) => call.end(GrpcCode.UNAUTHENTICATED, 'agent token rejected');
    const err = await openAgentCall(options()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrpcStatusError);
    expect([(err as GrpcStatusError).code, (err as GrpcStatusError).details]).toEqual([GrpcCode.UNAUTHENTICATED, 'agent token rejected']);
  });

  it('rejects with UNAVAILABLE when the server certificate does not verify', async () => {
    const other = createTestPki();
    try {
      const err = await openAgentCall(options({ ca: other.caPem })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GrpcStatusError);
      expect((err as GrpcStatusError).code).toBe(GrpcCode.UNAVAILABLE);
    } finally {
      removePki(other);
    }
  });

  it('rejects with DEADLINE_EXCEEDED when the server never answers', async () => {
    behaviour = () => {}; // accepts the stream, sends nothing
    const err = await openAgentCall(options({ handshakeTimeoutMs: 200 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrpcStatusError);
    expect((err as GrpcStatusError).code).toBe(GrpcCode.DEADLINE_EXCEEDED);
  });

  it('ends with "end" when the server finishes with OK, and cancel() afterwards is harmless', async () => {
    behaviour = (call) => {
      call.sendHeaders({ serverid: 's-1', servercount: '1' });
      call.on('end', () => call.end());
    };
    const { call } = await openAgentCall(options());
    const ended = once(call, 'end');
    call.end();
    await ended;
    call.cancel();
  });
});
