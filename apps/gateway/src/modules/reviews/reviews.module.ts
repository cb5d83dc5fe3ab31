import { Global, Module } from '@nestjs/common';
import { ReviewNotifier } from './review-notifier';
import { ReviewsController } from './reviews.controller';
import { ReviewsService } from './reviews.service';

/** Just-in-time access requests and per-command approvals. Global: RBAC reads grants, the tunnel holds commands. */
@Global()
@Module({
  controllers: [ReviewsController],
  providers: [ReviewsService, ReviewNotifier],
  exports: [ReviewsService],
})
export class ReviewsModule {}
