import pino from 'pino';
import type { Store } from '@tollgate/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore } from '../../testing/test-store';
import { StoreService } from '../store/store.service';
import type { AgentInstanceInfo } from './agent-instance';
import { AGENT_LIVENESS_WINDOW_MS, AgentPresence } from './agent-presence';
import { GatewayReplica } from './gateway-replica';
import { TunnelLogger } from './tunnel-logger';

const logger = new TunnelLogger(pino({ level: 'silent' }));

function instance(id: string, address = '10.0.0.1:40000'): AgentInstanceInfo {
  return { instanceId: id, hostname: `host-${id}`, address, version: '1.2.3' };
}

describe('agent presence: one live instance per agent across replicas (real PostgreSQL)', () => {
  let store: Store;
  let remove: () => Promise<void>;
  let replicaA: AgentPresence;
  let replicaB: AgentPresence;
  let idA: string;
  let idB: string;

  beforeAll(async () => {
    ({ store, remove } = await openTestStore('postgres', 'tollgate-presence-'));
    const a = new GatewayReplica();
    const b = new GatewayReplica();
    idA = a.id;
    idB = b.id;
    replicaA = new AgentPresence(new StoreService(store), a, logger);
    replicaB = new AgentPresence(new StoreService(store), b, logger);
  });

  afterAll(() => remove?.());

  const newAgent = async (name: string) => (await store.prisma.agent.create({ data: { name } })).id;
  const row = (id: string) => store.prisma.agent.findUniqueOrThrow({ where: { id } });

  it('a second instance is refused on any replica while the first is live; the first reconnects anywhere', async () => {
    const agent = await newAgent('edge-1');
    const first = new Date();
    expect(await replicaA.claim(agent, instance('i1'), first, true)).toEqual({ claimed: true });

    const refused = await replicaB.claim(agent, instance('i2', '10.0.0.2:50000'), new Date(), true);
    expect(refused).toEqual({
      claimed: false,
      holder: {
        instanceId: 'i1',
        hostname: 'host-i1',
        address: '10.0.0.1:40000',
        version: '1.2.3',
        connectedAt: first,
        lastSeenAt: first,
        replica: idA,
      },
    });
    // Replica A itself refuses another instance while its own stream is live (localHolderGone false).
    expect((await replicaA.claim(agent, instance('i2'), new Date(), false)).claimed).toBe(false);

    // The same instance reconnecting (a network blip) through another replica gets in at once.
    const again = new Date();
    expect(await replicaB.claim(agent, instance('i1', '10.0.0.1:40001'), again, true)).toEqual({
      claimed: true,
    });
    expect(await row(agent)).toMatchObject({ connectedTo: idB, instanceId: 'i1', address: '10.0.0.1:40001' });

    // The old stream ending on replica A does not clear the newer one's presence, and A's
    // heartbeats for it no longer count.
    await replicaA.offline(agent, first);
    replicaA.seen(agent, 'i1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await row(agent)).toMatchObject({ connectedTo: idB, instanceId: 'i1', lastSeenAt: again });

    // Once the holder's stream is gone, another instance is admitted at once.
    await replicaB.offline(agent, again);
    expect(await replicaA.claim(agent, instance('i2'), new Date(), false)).toEqual({ claimed: true });
  });

  it('a holder whose heartbeats stopped longer than the liveness window ago is replaced', async () => {
    const agent = await newAgent('edge-2');
    expect((await replicaA.claim(agent, instance('dead-host'), new Date(), true)).claimed).toBe(true);
    await store.prisma.agent.update({
      where: { id: agent },
      data: { lastSeenAt: new Date(Date.now() - AGENT_LIVENESS_WINDOW_MS + 2_000) },
    });
    expect((await replicaB.claim(agent, instance('real'), new Date(), true)).claimed).toBe(false);
    await store.prisma.agent.update({
      where: { id: agent },
      data: { lastSeenAt: new Date(Date.now() - AGENT_LIVENESS_WINDOW_MS - 1_000) },
    });
    expect((await replicaB.claim(agent, instance('real'), new Date(), true)).claimed).toBe(true);
    expect(await row(agent)).toMatchObject({ connectedTo: idB, instanceId: 'real' });
  });

  it('of many instances registering at once through two replicas, exactly one is admitted', async () => {
    for (let round = 0; round < 5; round++) {
      const agent = await newAgent(`race-${round}`);
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          (i % 2 ? replicaA : replicaB).claim(agent, instance(`r${round}-${i}`), new Date(), false),
        ),
      );
      const winners = results.filter((r) => r.claimed);
      expect(winners).toHaveLength(1);
      const holder = (await row(agent)).instanceId;
      for (const result of results) if (!result.claimed) expect(result.holder.instanceId).toBe(holder);
    }
  });
});
