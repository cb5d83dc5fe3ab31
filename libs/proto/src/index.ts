// Entry point of @tollgate/proto: the wire contract generated from proto/ (see buf.gen.yaml).
// Everything under ./generated is written by `npm run proto`; edit the .proto files, never the output.
// Names do not collide across the generated modules, so they are re-exported flat.
export * from './generated/tollgate/v1/frame';
export * from './generated/tollgate/v1/connection';
export * from './generated/tollgate/v1/session';
export * from './generated/tollgate/v1/agent_tunnel';
export * from './generated/tollgate/v1/client_tunnel';
export * from './generated/grpc/health/v1/health';
export * from './tunnel-wire';
export * from './relay-heap';
export * from './grpc-in-place-framing';
export * from './grpc-client-frames';
export * from './session-verb';
export * from './gateway-tls';
