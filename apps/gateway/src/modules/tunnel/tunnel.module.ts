import { type DynamicModule, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { AgentAdmission } from './agent-admission';
import { AgentAuditTrail } from './agent-audit';
import { AgentAuthenticator } from './agent-authenticator';
import { AgentJournalIntake } from './agent-journal-intake';
import { JournalProgress } from './journal-progress';
import { AgentPresence } from './agent-presence';
import { AgentRegistry } from './agent-registry';
import { AgentTunnelGrpcService } from './agent-tunnel.grpc-service';
import { BundleBuilder } from './bundle-builder';
import { ClientTunnelGrpcService } from './client-tunnel.grpc-service';
import { ConnectionDirectory } from './connection-directory';
import { GatewayReplica } from './gateway-replica';
import { InProcessSessions } from './in-process-sessions';
import { InterruptSession } from './interrupt-session';
import { PendingSessions } from './pending-sessions';
import { SessionBroker } from './session-broker';
import { SessionCommands } from './session-commands';
import { SessionRecords } from './session-records';
import { SessionRecordings } from './session-recordings';
import { LiveStreamsWatch } from './live-streams.watch';
import { LostSessions } from './lost-sessions';
import { ReplicaHeartbeat } from './replica-heartbeat';
import { TunnelSettings } from './tunnel-settings';
import { TunnelLogger } from './tunnel-logger';

/** Ends every agent stream at shutdown, so the gRPC server can close without waiting them out. */
@Injectable()
class TunnelShutdown implements OnApplicationShutdown {
  constructor(private readonly registry: AgentRegistry) {}

  onApplicationShutdown(): void {
    this.registry.closeAll('the gateway is shutting down');
  }
}

/** The data path's control side: agent streams, session brokering, client streams. */
@Module({})
export class TunnelModule {
  static forRoot(logger: Logger, settings: Partial<TunnelSettings> = {}): DynamicModule {
    return {
      module: TunnelModule,
      // Global so the agents API can cut streams on revocation without importing the module twice.
      global: true,
      providers: [
        { provide: TunnelLogger, useValue: new TunnelLogger(logger.child({ component: 'tunnel' })) },
        GatewayReplica,
        AgentAuditTrail,
        AgentAuthenticator,
        AgentJournalIntake,
        JournalProgress,
        AgentRegistry,
        AgentAdmission,
        AgentPresence,
        BundleBuilder,
        PendingSessions,
        ConnectionDirectory,
        SessionRecords,
        SessionRecordings,
        SessionCommands,
        SessionBroker,
        InProcessSessions,
        InterruptSession,
        AgentTunnelGrpcService,
        ClientTunnelGrpcService,
        TunnelShutdown,
        LiveStreamsWatch,
        { provide: TunnelSettings, useValue: new TunnelSettings(settings) },
        LostSessions,
        ReplicaHeartbeat,
      ],
      exports: [
        AgentRegistry,
        AgentTunnelGrpcService,
        ClientTunnelGrpcService,
        InProcessSessions,
        InterruptSession,
        LostSessions,
        TunnelLogger,
      ],
    };
  }
}
