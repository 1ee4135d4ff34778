import { expect } from '@jest/globals';
import type { Response } from 'supertest';

/**
 * An RFC 9457 problem document, as every error of the API is answered: the content type and the
 * four standard members, with the status repeated in the body.
 */
export function expectProblem(response: Response, status: number): void {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toEqual(
    expect.objectContaining({
      type: expect.any(String),
      title: expect.any(String),
      status,
      detail: expect.any(String),
    }),
  );
}

/** A 400 problem whose `errors` name the given field. */
export function expectFieldError(response: Response, field: string): void {
  expectProblem(response, 400);
  expect(Object.keys(response.body.errors ?? {})).toContain(field);
  expect(response.body.errors[field]).toEqual([expect.any(String)]);
}
