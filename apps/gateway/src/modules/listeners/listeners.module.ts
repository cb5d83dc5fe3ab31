import { Module } from '@nestjs/common';
import { ListenerSessions } from './listener-sessions';

/** The gateway's own protocol listeners (PostgreSQL), sharing one session pipeline. */
@Module({ providers: [ListenerSessions], exports: [ListenerSessions] })
export class ListenersModule {}
