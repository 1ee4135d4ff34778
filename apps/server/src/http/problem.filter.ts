import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppError, buildProblem, PROBLEM_CONTENT_TYPE, type ProblemDocument } from '@app/common';

const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'not_authenticated',
  403: 'permission_denied',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'service_unavailable',
};

/** Every failure leaves as application/problem+json; anything unexpected is a logged 500. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse<Response>();
    const request = http.getRequest<Request>();
    const { problem, headers } = this.toProblem(exception, request);
    if (problem.status >= 500)
      this.logger.error(exception instanceof Error ? exception.stack : exception);
    if (response.headersSent) return;
    for (const [name, value] of Object.entries(headers ?? {})) response.setHeader(name, value);
    response.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  }

  private toProblem(
    exception: unknown,
    request: Request,
  ): { problem: ProblemDocument; headers?: Record<string, string> } {
    const instance = request.originalUrl?.split('?')[0];
    if (exception instanceof AppError) {
      return {
        problem: buildProblem(
          exception.status,
          exception.code,
          exception.message,
          exception.errors,
          instance,
        ),
        headers: exception.headers,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const message =
        typeof body === 'string'
          ? body
          : Array.isArray((body as { message?: unknown }).message)
            ? (body as { message: string[] }).message.join('; ')
            : String((body as { message?: unknown }).message ?? exception.message);
      const detail =
        status === 404 && message.startsWith('Cannot ')
          ? `No route for ${request.method} ${instance}.`
          : message;
      return {
        problem: buildProblem(
          status,
          CODE_BY_STATUS[status] ?? 'error',
          detail,
          undefined,
          instance,
        ),
      };
    }
    return {
      problem: buildProblem(
        500,
        'internal_error',
        'An unexpected error occurred.',
        undefined,
        instance,
      ),
    };
  }
}
