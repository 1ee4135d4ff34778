import { randomUUID } from 'node:crypto';
import type { TestApp } from '../support/test-app.js';

export const STRONG_PASSWORD = 'Blue-Harbour-Lantern-42';

export interface RegisteredUser {
  id: number;
  username: string;
  email: string;
  password: string;
  access: string;
  refresh: string;
}

/** A unique username per call, so test files sharing the database never collide. */
export function newUserFields(overrides: Record<string, unknown> = {}) {
  const username = `user_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  return {
    username,
    email: `${username}@example.com`,
    password: STRONG_PASSWORD,
    password2: STRONG_PASSWORD,
    ...overrides,
  };
}

/** Registers through the API, as a client would. */
export async function registerUser(
  app: Pick<TestApp, 'http'>,
  overrides: Record<string, unknown> = {},
): Promise<RegisteredUser> {
  const fields = newUserFields(overrides);
  const response = await app.http().post('/api/auth/register/').send(fields).expect(201);
  return {
    id: response.body.user.id,
    username: fields.username,
    email: fields.email,
    password: fields.password,
    access: response.body.tokens.access,
    refresh: response.body.tokens.refresh,
  };
}

export function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}
