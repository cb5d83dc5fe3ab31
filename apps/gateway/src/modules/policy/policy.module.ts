import { Module } from '@nestjs/common';
import { PolicyVersionsController } from './policy-versions.controller';
import { PolicyVersionsService } from './policy-versions.service';

/** Policy as code: versions, restore, dry run, and pushing the active version to agents. */
@Module({
  controllers: [PolicyVersionsController],
  providers: [PolicyVersionsService],
})
export class PolicyModule {}
