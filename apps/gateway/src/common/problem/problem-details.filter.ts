import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, ValidationError } from '../errors';
import { PROBLEM_CONTENT_TYPE, type ProblemDetails } from './problem-details';

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * Every error leaves the HTTP API as application/problem+json. Stack traces and internal messages
 * of unexpected errors are logged, never sent.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const problem = this.toProblem(exception, request.url);
    if (problem.status >= 500) {
      this.logger.error({ err: exception, url: request.url, method: request.method }, 'request failed');
    }
    void reply.status(problem.status).header('content-type', PROBLEM_CONTENT_TYPE).send(problem);
  }

  private toProblem(exception: unknown, instance: string): ProblemDetails {
    if (exception instanceof ApiError) {
      return {
        type: exception.type,
        title: exception.title,
        status: exception.status,
        detail: exception.message,
        instance,
        ...(exception instanceof ValidationError ? { errors: exception.fields } : {}),
        ...exception.extensions,
      };
    }
    if (exception instanceof HttpException) {
      return this.generic(exception.getStatus(), httpExceptionDetail(exception), instance);
    }
    const fastifyStatus = fastifyErrorStatus(exception);
    if (fastifyStatus !== undefined) {
      return this.generic(fastifyStatus, fastifyErrorDetail(exception), instance);
    }
    return this.generic(500, 'an unexpected error occurred; see the gateway log', instance);
  }

  private generic(status: number, detail: string, instance: string): ProblemDetails {
    return {
      type: 'about:blank',
      title: STATUS_TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error'),
      status,
      detail,
      instance,
    };
  }
}

function httpExceptionDetail(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : exception.message;
}

/** Fastify's own client errors (malformed JSON, body too large, bad content type) carry a 4xx statusCode. */
function fastifyErrorStatus(exception: unknown): number | undefined {
  if (typeof exception !== 'object' || exception === null) return undefined;
  const { statusCode, code } = exception as { statusCode?: unknown; code?: unknown };
  if (typeof code !== 'string' || !code.startsWith('FST_')) return undefined;
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 ? statusCode : undefined;
}

function fastifyErrorDetail(exception: unknown): string {
  const { code, message } = exception as { code: string; message: string };
  switch (code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return `request body is not valid JSON: ${message}`;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'request body is larger than the configured limit (TOLLGATE_BODY_LIMIT_BYTES)';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'request body must be application/json';
    default:
      return message;
  }
}
