import { describe, expect, it } from 'vitest';
import { codeForDialError, fromGrpcError } from './errors.js';
import { GrpcCode } from './grpc/grpc-message.js';

describe('error mapping', () => {
  it.each([
    ['No agent available', 'ERR_NO_ROUTE'],
    ['currently no tunnels available: No agent available', 'ERR_NO_ROUTE'],
    ['dial tcp 127.0.0.1:1: connect: connection refused', 'ERR_DIAL_REFUSED'],
    ['dial tcp 10.0.0.1:80: i/o timeout', 'ERR_DIAL_TIMEOUT'],
    ['dial tcp: lookup x.invalid: no such host', 'ERR_DIAL_UNREACHABLE'],
    ['dial tcp 10.9.9.9:80: connect: no route to host', 'ERR_DIAL_UNREACHABLE'],
    ['something else', 'ERR_DIAL_FAILED'],
  ])('maps the agent error %j to %s', (text, code) => {
    expect(codeForDialError(text)).toBe(code);
  });

  it('maps gRPC statuses', () => {
    expect(fromGrpcError({ code: GrpcCode.UNAVAILABLE, details: 'x' }, 'unix:/s').code).toBe('ERR_TUNNEL_CLOSED');
    expect(fromGrpcError({ code: GrpcCode.UNAUTHENTICATED, details: 'x' }, 'h:1').code).toBe('ERR_AUTH_FAILED');
    expect(fromGrpcError({ code: GrpcCode.UNIMPLEMENTED, details: 'x' }, 'h:1').code).toBe('ERR_PROTOCOL');
  });
});
