import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { parseDuration } from '@tollgate/policy';
import { z } from 'zod';
import { ValidationPipe } from '../../common/validation/validation.pipe';
import { Authenticated } from '../identity/http/access.decorators';
import { CurrentPrincipal } from '../identity/http/current-principal.decorator';
import type { Principal } from '../identity/principal';
import { ReviewsService, type ReviewView } from './reviews.service';

const accessRequestBody = z
  .object({
    connection: z.string().min(1).max(200),
    verb: z.enum(['connect', 'exec']).default('connect'),
    /** `30m`, `1h`, `1h30m` ... */
    duration: z
      .string()
      .refine((value) => (parseDuration(value) ?? 0) > 0, 'expected a duration such as 30m, 1h or 1h30m'),
    reason: z.string().min(1).max(1000),
  })
  .strict();

const listQuery = z
  .object({
    state: z.enum(['pending', 'approved', 'rejected', 'expired']).optional(),
    kind: z.enum(['access', 'command']).optional(),
  })
  .strict();

const decisionBody = z.object({ comment: z.string().max(1000).optional() }).strict();
const reviewId = z.uuid();

/**
 * Reviews, for any signed-in caller: ask for just-in-time access, list the reviews you asked for
 * or may decide, approve or reject them (the policy names the reviewers).
 */
@ApiTags('reviews')
@Authenticated()
@Controller('api/v1')
export class ReviewsController {
  constructor(private readonly reviews: ReviewsService) {}

  @Post('access-requests')
  @HttpCode(201)
  @ApiOperation({ summary: 'Ask for temporary access to a connection (reviewed per policy access_requests)' })
  request(
    @CurrentPrincipal() principal: Principal,
    @Body(ValidationPipe.of(accessRequestBody)) body: z.output<typeof accessRequestBody>,
  ): Promise<ReviewView> {
    return this.reviews.requestAccess(principal, {
      connection: body.connection,
      verb: body.verb,
      durationSeconds: parseDuration(body.duration) ?? 0,
      reason: body.reason,
    });
  }

  @Get('reviews')
  @ApiOperation({ summary: 'Reviews you asked for or may decide, newest first' })
  list(
    @CurrentPrincipal() principal: Principal,
    @Query(ValidationPipe.of(listQuery)) query: z.output<typeof listQuery>,
  ): Promise<{ items: ReviewView[] }> {
    return this.reviews.list(principal, query);
  }

  @Get('reviews/:id')
  @ApiOperation({ summary: 'One review with its decisions' })
  get(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ValidationPipe.of(reviewId)) id: string,
  ): Promise<ReviewView> {
    return this.reviews.get(principal, id);
  }

  @Post('reviews/:id/approve')
  @HttpCode(200)
  @ApiOperation({ summary: 'Approve (nobody approves their own request)' })
  approve(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ValidationPipe.of(reviewId)) id: string,
    @Body(ValidationPipe.of(decisionBody)) body: z.output<typeof decisionBody>,
  ): Promise<ReviewView> {
    return this.reviews.decide(principal, id, 'approve', body.comment);
  }

  @Post('reviews/:id/reject')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reject' })
  reject(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ValidationPipe.of(reviewId)) id: string,
    @Body(ValidationPipe.of(decisionBody)) body: z.output<typeof decisionBody>,
  ): Promise<ReviewView> {
    return this.reviews.decide(principal, id, 'reject', body.comment);
  }
}
