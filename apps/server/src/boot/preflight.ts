import { Redis } from 'ioredis';
import pg from 'pg';
import type { AppConfig, S3Settings } from '@app/common';

/** A dependency that is not there at boot: said in one line, and the process exits non-zero. */
export class PreflightError extends Error {}

const CONNECT_TIMEOUT_MS = 5000;

function where(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || (parsed.protocol.startsWith('redis') ? 6379 : 5432)}`;
}

/**
 * Checks PostgreSQL and Redis before Nest starts, so a missing service is one clear line
 * instead of a retry loop and a stack trace. Outside production a missing database is created.
 */
export async function preflight(config: AppConfig): Promise<string[]> {
  const notices: string[] = [];
  await checkPostgres(config, notices);
  await checkRedis(config.redis.url);
  if (config.media.storage === 's3') await checkStore(config.media.s3!);
  return notices;
}

/**
 * Under MEDIA_STORAGE=s3 the bucket must exist and take these credentials: a store that cannot
 * be written would otherwise show up as failed generations, one by one.
 */
async function checkStore(settings: S3Settings): Promise<void> {
  // Loaded here: a process on local storage never loads the AWS SDK.
  const { HeadBucketCommand } = await import('@aws-sdk/client-s3');
  const { describeStoreError, s3Client } = await import('../media/s3-media.storage.js');
  const client = s3Client({ ...settings });
  try {
    await Promise.race([
      client.send(new HeadBucketCommand({ Bucket: settings.bucket })),
      new Promise((_, reject) =>
        setTimeout(
          () => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)),
          CONNECT_TIMEOUT_MS,
        ).unref(),
      ),
    ]);
  } catch (error) {
    throw new PreflightError(
      `The media store is not usable (MEDIA_STORAGE=s3): ${describeStoreError(settings, error)}.`,
    );
  } finally {
    client.destroy();
  }
}

async function checkPostgres(config: AppConfig, notices: string[]): Promise<void> {
  const url = config.database.url;
  try {
    await withClient(url, async () => undefined);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '3D000' && config.env !== 'production') {
      const database = decodeURIComponent(new URL(url).pathname.slice(1));
      const admin = new URL(url);
      admin.pathname = '/postgres';
      await withClient(admin.toString(), (client) =>
        client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`),
      ).catch((createError: { code?: string }) => {
        // Another process created it meanwhile: 42P04, or 23505 when both CREATEs raced.
        if (createError.code !== '42P04' && createError.code !== '23505')
          throw describePostgres(url, createError);
      });
      notices.push(`PostgreSQL database "${database}" did not exist: created it`);
      return;
    }
    throw describePostgres(url, error);
  }
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function describePostgres(url: string, error: unknown): PreflightError {
  const reason = (error as Error).message || String(error);
  return new PreflightError(
    `PostgreSQL is unreachable at ${where(url)} (DATABASE_URL): ${reason}. ` +
      'Start it (`docker compose up -d postgres`, or `pg_ctlcluster <version> main start`) or fix DATABASE_URL.',
  );
}

async function checkRedis(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // connect() rejects with a bare "Connection is closed."; the cause comes as an 'error' event.
  let cause: Error | undefined;
  redis.on('error', (error: Error) => {
    cause ??= error;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    const reason = (cause ?? (error as Error)).message.replace(/\.$/, '');
    throw new PreflightError(
      `Redis is unreachable at ${where(url)} (REDIS_URL): ${reason}. ` +
        'Start it (`docker compose up -d redis`, or `redis-server --daemonize yes`) or fix REDIS_URL.',
    );
  } finally {
    redis.disconnect();
  }
}
