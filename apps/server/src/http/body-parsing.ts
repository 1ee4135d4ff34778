import express, { type NextFunction, type Request, type Response } from 'express';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { buildProblem, type FieldErrors, PROBLEM_CONTENT_TYPE } from '@app/common';
import { bodyShapeFault } from './body-shape.js';

export const JSON_BODY_LIMIT = '1mb';

/**
 * The only paths whose form bodies (application/x-www-form-urlencoded) are parsed, small: RFC
 * 8058's one-click unsubscribe POST. Their handlers carry @AcceptsForm() for the content-type guard.
 */
export const FORM_BODY_PATHS = ['/api/mail/unsubscribe'];
const FORM_BODY_LIMIT = '2kb';

/**
 * JSON parsing is ours rather than Nest's so that its failures (bad JSON, too large, a charset
 * we don't read) leave as problem+json like every other error, instead of Express's HTML page.
 * A parsed body too deep or carrying prototype keys is refused here, before any endpoint (or its
 * validation, which recurses) sees it, whether or not the endpoint reads a body.
 */
export function installBodyParsing(app: NestExpressApplication): void {
  app.use(
    express.json({ limit: JSON_BODY_LIMIT, type: ['application/json', 'application/*+json'] }),
  );
  app.use(
    FORM_BODY_PATHS,
    express.urlencoded({
      extended: false,
      limit: FORM_BODY_LIMIT,
      parameterLimit: 10,
      type: 'application/x-www-form-urlencoded',
    }),
  );
  app.use((request: Request, response: Response, next: NextFunction) => {
    const fault = bodyShapeFault(request.body);
    if (!fault) return next();
    sendProblem(request, response, 400, 'validation_error', 'The request has invalid fields.', {
      [fault.field]: [fault.message],
    });
  });
  app.use(
    (
      error: { type?: string; message?: string },
      request: Request,
      response: Response,
      next: NextFunction,
    ) => {
      const answer = bodyErrorAnswer(error);
      if (!answer) return next(error);
      sendProblem(request, response, answer.status, answer.code, answer.detail);
    },
  );
}

function sendProblem(
  request: Request,
  response: Response,
  status: number,
  code: string,
  detail: string,
  errors?: FieldErrors,
): void {
  const problem = buildProblem(status, code, detail, errors, request.originalUrl.split('?')[0]);
  response.status(status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
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
