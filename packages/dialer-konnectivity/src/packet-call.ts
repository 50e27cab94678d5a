import type { GrpcClientCall } from './grpc/grpc-client-call.js';
import type { GrpcServerCall } from './grpc/grpc-server-call.js';
import type { Packet } from './packets.js';

/** A Konnectivity stream as the server holds it: `/ProxyService/Proxy` from a client, `/AgentService/Connect` from an agent. */
export type PacketCall = GrpcServerCall<Packet>;

/** A Konnectivity stream as a client or agent holds it. */
export type PacketClientCall = GrpcClientCall<Packet>;
