import { STATUS_CODES } from 'node:http';
import type { FieldErrors } from './app-error.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An RFC 9457 problem document, with `errors` for field validation and `code` for machines. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: FieldErrors;
}

export function problemTypeFor(code: string): string {
  return `urn:image-automation:problem:${code}`;
}

export function buildProblem(
  status: number,
  code: string,
  detail: string,
  errors?: FieldErrors,
  instance?: string,
): ProblemDocument {
  return {
    type: problemTypeFor(code),
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    code,
    ...(instance ? { instance } : {}),
    ...(errors && Object.keys(errors).length > 0 ? { errors } : {}),
  };
}
