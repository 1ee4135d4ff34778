import express, { type NextFunction, type Request, type Response } from 'express';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { buildProblem, PROBLEM_CONTENT_TYPE } from '@app/common';

export const JSON_BODY_LIMIT = '1mb';

/**
 * JSON parsing is ours rather than Nest's so that its failures (bad JSON, too large, a charset
 * we don't read) leave as problem+json like every other error, instead of Express's HTML page.
 */
export function installBodyParsing(app: NestExpressApplication): void {
  app.use(
    express.json({ limit: JSON_BODY_LIMIT, type: ['application/json', 'application/*+json'] }),
  );
  app.use(
    (
      error: { type?: string; message?: string },
      request: Request,
      response: Response,
      next: NextFunction,
    ) => {
      const answer = bodyErrorAnswer(error);
      if (!answer) return next(error);
      const problem = buildProblem(
        answer.status,
        answer.code,
        answer.detail,
        undefined,
        request.originalUrl.split('?')[0],
      );
      response.status(answer.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
    },
  );
}

function bodyErrorAnswer(error: { type?: string; message?: string }) {
  switch (error.type) {
    case 'entity.parse.failed':
      return {
        status: 400,
        code: 'malformed_json',
        detail: `The body is not valid JSON: ${error.message}`,
      };
    case 'entity.too.large':
      return {
        status: 413,
        code: 'payload_too_large',
        detail: `The body is larger than ${JSON_BODY_LIMIT}.`,
      };
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return {
        status: 415,
        code: 'unsupported_media_type',
        detail: error.message ?? 'Unsupported encoding.',
      };
    case 'request.aborted':
      return {
        status: 400,
        code: 'request_aborted',
        detail: 'The request body was not received in full.',
      };
    default:
      return null;
  }
}
