import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiHeader, ApiResponse } from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE } from '@app/common';
import {
  IDEMPOTENCY_HEADER,
  IDEMPOTENCY_KEY_MAX_LENGTH,
  IdempotencyInterceptor,
} from './idempotency.interceptor.js';

const IDEMPOTENCY_KEY_EXAMPLE = '5f0c7c9e-2b1a-4e55-9d1e-7a3f7c2d9b10';

const problem = (status: number, description: string) =>
  ApiResponse({
    status,
    description,
    content: {
      [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/ProblemResponse' } },
    },
  });

/** A creating POST that honours `Idempotency-Key` (IdempotencyInterceptor), documented. */
export function Idempotent() {
  return applyDecorators(
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: IDEMPOTENCY_HEADER,
      required: false,
      description: `Any string of at most ${IDEMPOTENCY_KEY_MAX_LENGTH} characters, chosen by the client, per user and kept 24 hours: the same key with the same body answers the first answer again (same status, same object, nothing created twice); with another body it is 422; while the first request with it still runs, 409.`,
      example: IDEMPOTENCY_KEY_EXAMPLE,
      schema: {
        type: 'string',
        maxLength: IDEMPOTENCY_KEY_MAX_LENGTH,
        example: IDEMPOTENCY_KEY_EXAMPLE,
      },
    }),
    problem(409, `A request with this ${IDEMPOTENCY_HEADER} is still running.`),
    problem(422, `This ${IDEMPOTENCY_HEADER} was used with another body.`),
  );
}
