import { Module } from '@nestjs/common';
import { SessionsController } from './sessions.controller';

/** Sessions as operators see them: list, inspect, kill. */
@Module({ controllers: [SessionsController] })
export class SessionsModule {}
