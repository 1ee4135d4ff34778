import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** This run's database, created and migrated by global-setup.mjs, which sets the variable. */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/image_automation_test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789-0123456789-abcdef';

/**
 * Environment for one app (or one spawned process) under test: its own Redis prefix and media
 * folder, so test files running side by side never see each other's keys or files.
 */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: `test-${randomUUID().slice(0, 8)}`,
    MEDIA_ROOT: mkdtempSync(path.join(os.tmpdir(), 'ia-media-')),
    JWT_SECRET: TEST_JWT_SECRET,
    SESSION_SECRET: 'test-session-secret-0123456789-0123456789',
    TOKEN_ENCRYPTION_KEY: '00'.repeat(32),
    PUBLIC_BASE_URL: 'http://127.0.0.1:3000',
    LOG_LEVEL: 'silent',
    APP_ROLES: 'api',
    // Every test registers its users from 127.0.0.1: the per-address limit is tested on its own.
    RATE_LIMIT_REGISTER_PER_HOUR: '0',
    ...overrides,
  };
}
