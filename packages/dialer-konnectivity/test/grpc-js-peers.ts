import { makeGenericClientConstructor, type ChannelOptions, type ServiceDefinition } from '@grpc/grpc-js';
import { FLOW_WINDOW } from '../src/grpc/flow-window.js';
import { AgentServiceService, type AgentServiceClient } from '../src/gen/agent.js';
import { ProxyServiceService, type ProxyServiceClient } from '../src/gen/konnectivity-client/proto/client/client.js';
import { decodePacket, encodePacket } from '../src/packet-codec.js';

/**
 * grpc-js peers for tests: a third-party gRPC implementation talking to our
 * server and agent. They use our Packet codec (byte-identical to the generated
 * one) as serializers.
 */
function withFastCodec<T extends ServiceDefinition>(service: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(service)) {
    out[name] = {
      ...method,
      requestSerialize: encodePacket,
      requestDeserialize: decodePacket,
      responseSerialize: encodePacket,
      responseDeserialize: decodePacket,
    };
  }
  return out as T;
}

/** /ProxyService/Proxy with the fast codec. */
export const proxyService = withFastCodec(ProxyServiceService);
/** /AgentService/Connect with the fast codec. */
export const agentService = withFastCodec(AgentServiceService);
/** grpc-js clients for the two services. */
export const ProxyClient = makeGenericClientConstructor(proxyService, 'ProxyService') as unknown as typeof ProxyServiceClient;
export const AgentClient = makeGenericClientConstructor(agentService, 'AgentService') as unknown as typeof AgentServiceClient;

/** grpc-js channel options that open the flow-control window as our hops do. */
export const flowWindowChannelOptions: ChannelOptions = { 'grpc-node.flow_control_window': FLOW_WINDOW };
