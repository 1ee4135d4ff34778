import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import { PROBLEM_CONTENT_TYPE, problemTypeFor } from '@app/common';

/** RFC 9457 problem document, as every error is answered. */
export class ProblemResponse {
  @ApiProperty({ example: problemTypeFor('validation_error') }) type: string;
  @ApiProperty({ example: 'Bad Request' }) title: string;
  @ApiProperty({ type: 'integer', example: 400 }) status: number;
  @ApiProperty({ example: 'The request has invalid fields.' }) detail: string;
  @ApiProperty({ example: 'validation_error', description: 'Stable machine-readable name.' })
  code: string;
  @ApiPropertyOptional({ example: '/api/auth/register/' }) instance?: string;
  @ApiPropertyOptional({
    description: 'Validation only: messages per field.',
    example: { username: ['A user with that username already exists.'] },
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string' } },
  })
  errors?: Record<string, string[]>;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid body, query or field values (named in `errors`), or malformed JSON.',
  401: 'Missing, malformed, expired, revoked or wrong-type token, or bad credentials.',
  403: 'Forbidden.',
  404: "No such object, or another user's.",
  409: 'Valid request, wrong state.',
  413: 'Body or file too large.',
  415: 'Body in a content type the endpoint does not read.',
  429: 'Too many requests; see Retry-After.',
};

/** Documents the problem+json answers an endpoint can give. */
export function ApiProblems(...statuses: number[]) {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? STATUS_CODES[status],
        content: {
          [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/ProblemResponse' } },
        },
      }),
    ),
  );
}
