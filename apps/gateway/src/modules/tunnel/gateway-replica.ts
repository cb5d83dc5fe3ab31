import { randomUUID } from 'node:crypto';

/** This gateway process among its replicas; agent presence records which replica holds a stream. */
export class GatewayReplica {
  readonly id = `gw-${randomUUID()}`;
}
