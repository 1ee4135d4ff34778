import { createHash, randomUUID } from 'node:crypto';
import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
  type NestInterceptor,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { AppError, ConflictError, FieldValidationError } from '@app/common';
import type { AuthenticatedRequest } from '../auth/authenticated-request.js';
import { REDIS } from '../redis/redis.module.js';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
/** How long the first answer to a key is kept (api.md: 24 hours). */
const ANSWER_TTL_SECONDS = 24 * 3600;
/**
 * How long a key stays "running" at most: past it, a process that died mid-request no longer
 * holds the key (a 409 for a day would be worse than a retry).
 */
const RUNNING_TTL_SECONDS = 300;

type Entry =
  | { state: 'running'; fingerprint: string; owner: string }
  | { state: 'answered'; fingerprint: string; body: unknown };

/** Deletes the key only while it still holds this request's running marker. */
const RELEASE_SCRIPT = `
local entry = redis.call('GET', KEYS[1])
if entry and cjson.decode(entry).owner == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** 422: the key was used for another request. */
export class IdempotencyKeyReusedError extends AppError {
  constructor() {
    super(
      422,
      'idempotency_key_reused',
      `This ${IDEMPOTENCY_HEADER} was used with another request body in the last 24 hours.`,
    );
  }
}

/**
 * `Idempotency-Key` on a creating POST (see `@Idempotent()`): per user, in the app's Redis. The
 * first request with a key marks it running (SET NX), runs, and stores its answer for 24 hours;
 * the same key and body then answer that again without running the handler; another body is
 * 422; while the first still runs, 409. A request that fails keeps nothing, so the client may
 * use the key again once it corrected the request.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger(IdempotencyInterceptor.name);

  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers[IDEMPOTENCY_HEADER.toLowerCase()];
    if (header === undefined) return next.handle();
    const key = validKey(header);
    const fingerprint = sha256(
      `${context.getClass().name}.${context.getHandler().name}\n${canonicalJson(request.body ?? {})}`,
    );
    const redisKey = `idempotency:${request.user.id}:${sha256(key)}`;
    return from(this.run(redisKey, fingerprint, next));
  }

  private async run(redisKey: string, fingerprint: string, next: CallHandler): Promise<unknown> {
    const owner = randomUUID();
    const running: Entry = { state: 'running', fingerprint, owner };
    const taken = await this.redis
      .set(redisKey, JSON.stringify(running), 'EX', RUNNING_TTL_SECONDS, 'NX')
      .catch((error: Error) => {
        this.logger.error(`Idempotency keys unavailable: ${error.message}`);
        throw new AppError(
          503,
          'service_unavailable',
          `The ${IDEMPOTENCY_HEADER} cannot be checked right now; try again.`,
        );
      });
    if (taken !== 'OK') return this.answerAgain(redisKey, fingerprint, next);

    let body: unknown;
    try {
      body = await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (error) {
      await this.redis
        .eval(RELEASE_SCRIPT, 1, redisKey, owner)
        .catch((releaseError: Error) =>
          this.logger.warn(`Could not release an idempotency key: ${releaseError.message}`),
        );
      throw error;
    }
    const answered: Entry = { state: 'answered', fingerprint, body };
    // The work is done and committed: a failure to remember it must not turn it into an error.
    await this.redis
      .set(redisKey, JSON.stringify(answered), 'EX', ANSWER_TTL_SECONDS)
      .catch((error: Error) =>
        this.logger.error(`Could not store the answer of an idempotency key: ${error.message}`),
      );
    return body;
  }

  /** The key is taken: the first answer again, or why not. */
  private async answerAgain(
    redisKey: string,
    fingerprint: string,
    next: CallHandler,
  ): Promise<unknown> {
    const stored = await this.redis.get(redisKey);
    // Expired between the SET and the GET: the key is free again.
    if (stored === null) return this.run(redisKey, fingerprint, next);
    const entry = JSON.parse(stored) as Entry;
    if (entry.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
    if (entry.state === 'running') {
      throw new ConflictError(
        'idempotency_key_in_use',
        `A request with this ${IDEMPOTENCY_HEADER} is still running; try again once it answered.`,
      );
    }
    return entry.body;
  }
}

function validKey(header: string | string[]): string {
  const key = Array.isArray(header) ? header.join(', ') : header;
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
    throw FieldValidationError.of(
      IDEMPOTENCY_HEADER,
      `Must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} characters.`,
    );
  }
  return key;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** JSON with object keys sorted at every level: equal bodies give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(
          Object.entries(inner as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : inner,
  );
}
