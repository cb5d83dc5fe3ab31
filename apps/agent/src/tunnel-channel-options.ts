/** Keepalive on the long-lived tunnel connection: a dead gateway is noticed within ~15 s. */
export const TUNNEL_CHANNEL_OPTIONS = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': 4 * 1024 * 1024,
  // Per-stream HTTP/2 receive window (the default 64 KiB caps a session at tens of MB/s).
  'grpc-node.flow_control_window': 4 * 1024 * 1024,
  // Reconnects are paced by the agent's own backoff, not grpc-js's (which can wait minutes).
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2_000,
} as const;
