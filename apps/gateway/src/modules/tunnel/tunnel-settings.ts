/** The data path's settings, from the gateway's configuration. */
export class TunnelSettings {
  /**
   * How long after a replica's last heartbeat the others close the sessions it relayed as lost.
   * Each replica beats four times per window.
   */
  readonly replicaLivenessMs: number = 20_000;

  constructor(settings: Partial<TunnelSettings> = {}) {
    Object.assign(this, settings);
  }
}
