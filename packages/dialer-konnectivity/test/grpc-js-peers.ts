import {
  makeGenericClientConstructor,
  type Client,
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientDuplexStream,
  type Metadata,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { FLOW_WINDOW } from '../src/grpc/flow-window.js';
import { AgentServiceDefinition } from '../src/gen/agent.js';
import { ProxyServiceDefinition, type Packet } from '../src/gen/konnectivity-client/proto/client/client.js';
import { decodePacket, encodePacket } from '../src/packet-codec.js';

/**
 * grpc-js peers for tests: a third-party gRPC implementation talking to our
 * server and agent. The generated code describes the services without
 * depending on grpc-js (outputServices=generic-definitions), so the grpc-js
 * service definitions are built here, with our Packet codec (byte-identical
 * to the generated one) as serializers.
 */
interface GenericService {
  fullName: string;
  methods: Readonly<Record<string, { name: string; requestStream: boolean; responseStream: boolean }>>;
}

function grpcJsService(service: GenericService): ServiceDefinition {
  const out: Record<string, ServiceDefinition[string]> = {};
  for (const [key, m] of Object.entries(service.methods)) {
    out[key] = {
      path: `/${service.fullName}/${m.name}`,
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      requestSerialize: encodePacket,
      requestDeserialize: decodePacket,
      responseSerialize: encodePacket,
      responseDeserialize: decodePacket,
    };
  }
  return out;
}

/** A bidi method as grpc-js clients expose it. */
type BidiMethod = (metadata?: Metadata, options?: Partial<CallOptions>) => ClientDuplexStream<Packet, Packet>;

interface ClientConstructor<T> {
  new (address: string, credentials: ChannelCredentials, options?: Partial<ChannelOptions>): Client & T;
}

/** /ProxyService/Proxy. */
export const proxyService = grpcJsService(ProxyServiceDefinition);
/** /AgentService/Connect. */
export const agentService = grpcJsService(AgentServiceDefinition);
/** grpc-js clients for the two services. */
export const ProxyClient = makeGenericClientConstructor(proxyService, 'ProxyService') as unknown as ClientConstructor<{
  proxy: BidiMethod;
}>;
export const AgentClient = makeGenericClientConstructor(agentService, 'AgentService') as unknown as ClientConstructor<{
  connect: BidiMethod;
}>;

/** grpc-js channel options that open the flow-control window as our hops do. */
export const flowWindowChannelOptions: ChannelOptions = { 'grpc-node.flow_control_window': FLOW_WINDOW };
