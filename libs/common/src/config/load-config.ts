import { createHash, hkdfSync } from 'node:crypto';
import { isIP } from 'node:net';
import path from 'node:path';
import {
  APP_ROLES,
  type AppConfig,
  type AppRole,
  IMAGE_PROVIDERS,
  type ImageProviderName,
  MEDIA_STORAGES,
  type MediaStorageKind,
  type NodeEnv,
  type S3Settings,
} from './app-config.js';
import { parseDurationSeconds } from './duration.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

/** HKDF's info of the media URL key derived from JWT_SECRET when MEDIA_URL_SECRET is unset. */
export const MEDIA_URL_KEY_LABEL = 'image-automation media-url v1';
/** HKDF's info of the key that signs one-click unsubscribe links, derived from JWT_SECRET. */
export const UNSUBSCRIBE_KEY_LABEL = 'image-automation mail-unsubscribe v1';

/**
 * Reads and validates every variable once. Collects all problems before failing, so one boot
 * names everything that is wrong; each message starts with the variable's name.
 */
export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const notices: string[] = [];
  const get = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };

  const nodeEnv = (get('NODE_ENV') ?? 'development') as NodeEnv;
  if (!['development', 'production', 'test'].includes(nodeEnv)) {
    problems.push(`NODE_ENV must be development, production or test (got "${nodeEnv}")`);
  }
  const production = nodeEnv === 'production';

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const duration = (name: string, fallback: string): number => {
    const raw = get(name) ?? fallback;
    const seconds = parseDurationSeconds(raw);
    if (seconds === null) {
      problems.push(
        `${name} must be a duration in seconds or with a unit, like 900, 15m or 7d (got "${raw}")`,
      );
      return parseDurationSeconds(fallback)!;
    }
    return seconds;
  };
  const boolean = (name: string, fallback: boolean): boolean => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    if (raw !== 'true' && raw !== 'false') {
      problems.push(`${name} must be true or false (got "${raw}")`);
      return fallback;
    }
    return raw === 'true';
  };
  const url = (name: string, fallback: string, protocols: string[]): string => {
    const raw = get(name) ?? fallback;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol');
    } catch {
      problems.push(
        `${name} must be a URL starting with ${protocols.join(' or ')}// (got "${raw}")`,
      );
    }
    return raw.replace(/\/+$/, '');
  };
  const secret = (name: string, developmentValue: string, minLength: number): string => {
    const raw = get(name);
    if (raw === undefined) {
      if (production) problems.push(`${name} is required in production`);
      else
        notices.push(`${name} is not set: using a development value (never do this in production)`);
      return developmentValue;
    }
    if (raw.length < minLength)
      problems.push(`${name} must be at least ${minLength} characters long`);
    return raw;
  };

  const rolesRaw = get('APP_ROLES') ?? APP_ROLES.join(',');
  const roles = new Set<AppRole>();
  for (const role of rolesRaw
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean)) {
    if ((APP_ROLES as readonly string[]).includes(role)) roles.add(role as AppRole);
    else
      problems.push(`APP_ROLES has an unknown role "${role}" (allowed: ${APP_ROLES.join(', ')})`);
  }
  if (roles.size === 0 && !problems.some((p) => p.startsWith('APP_ROLES'))) {
    problems.push('APP_ROLES must name at least one of api, worker, scheduler');
  }

  const port = integer('PORT', 3000, 1, 65535);
  const jwtSecret = secret('JWT_SECRET', 'development-only-jwt-secret-change-me-0123456789', 32);
  const sessionSecret = secret(
    'SESSION_SECRET',
    'development-only-session-secret-change-me-0123',
    32,
  );
  const keysRaw = get('TOKEN_ENCRYPTION_KEYS');
  const tokenEncryptionKeys =
    keysRaw === undefined
      ? [parseEncryptionKey(get('TOKEN_ENCRYPTION_KEY'), production, problems, notices)]
      : parseEncryptionKeyRing(keysRaw, problems);
  const mediaUrlSecret = get('MEDIA_URL_SECRET');
  if (mediaUrlSecret !== undefined) {
    if (mediaUrlSecret.length < 32)
      problems.push('MEDIA_URL_SECRET must be at least 32 characters long');
    else if (mediaUrlSecret === jwtSecret)
      problems.push('MEDIA_URL_SECRET must differ from JWT_SECRET');
  }

  const blackboxKey = get('BLACKBOX_API_KEY');
  const openaiKey = get('OPENAI_API_KEY');
  const providerRaw = get('IMAGE_PROVIDER');
  let provider: ImageProviderName = blackboxKey ? 'blackbox' : openaiKey ? 'openai' : 'local';
  if (providerRaw !== undefined) {
    if ((IMAGE_PROVIDERS as readonly string[]).includes(providerRaw))
      provider = providerRaw as ImageProviderName;
    else
      problems.push(
        `IMAGE_PROVIDER must be one of ${IMAGE_PROVIDERS.join(', ')} (got "${providerRaw}")`,
      );
  }
  if (provider === 'blackbox' && !blackboxKey)
    problems.push('BLACKBOX_API_KEY is required when IMAGE_PROVIDER is blackbox');
  if (provider === 'openai' && !openaiKey)
    problems.push('OPENAI_API_KEY is required when IMAGE_PROVIDER is openai');
  if (providerRaw === undefined) {
    notices.push(
      provider === 'local'
        ? 'IMAGE_PROVIDER is not set and no provider key is: using the local provider (deterministic pictures, no AI)'
        : `IMAGE_PROVIDER is not set: using ${provider}, whose key is set`,
    );
  }

  const smtpUrl = get('SMTP_URL');
  if (smtpUrl !== undefined) url('SMTP_URL', smtpUrl, ['smtp:', 'smtps:']);
  else if (production)
    notices.push(
      'SMTP_URL is not set: no mail is sent (password resets and notifications are recorded as skipped)',
    );
  else notices.push('SMTP_URL is not set: mail is written to the log instead of sent');
  const publicBaseUrl = url('PUBLIC_BASE_URL', `http://localhost:${port}`, ['http:', 'https:']);
  const passwordResetUrl =
    get('PASSWORD_RESET_URL') ?? `${publicBaseUrl}/reset-password?token={token}`;
  if (!passwordResetUrl.includes('{token}')) {
    problems.push(
      `PASSWORD_RESET_URL must contain {token}, where the reset token goes (got "${passwordResetUrl}")`,
    );
  } else {
    url('PASSWORD_RESET_URL', passwordResetUrl.replace('{token}', 'token'), ['http:', 'https:']);
  }

  const config: AppConfig = {
    env: nodeEnv,
    port,
    roles,
    publicBaseUrl,
    mediaRoot: path.resolve(get('MEDIA_ROOT') ?? './media'),
    logLevel: get('LOG_LEVEL') ?? (nodeEnv === 'test' ? 'warn' : 'info'),
    trustProxy: parseTrustProxy(get('TRUST_PROXY'), problems),
    database: {
      url: url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/image_automation', [
        'postgres:',
        'postgresql:',
      ]),
    },
    redis: {
      url: url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
      prefix: get('REDIS_PREFIX') ?? 'ia',
    },
    auth: {
      jwtSecret,
      accessTtlSeconds: duration('JWT_ACCESS_TTL', '15m'),
      refreshTtlSeconds: duration('JWT_REFRESH_TTL', '7d'),
      loginMaxFailures: integer('LOGIN_MAX_FAILURES', 10, 1, 10_000),
      loginWindowSeconds: duration('LOGIN_WINDOW', '15m'),
      registrationsPerIpPerHour: integer('RATE_LIMIT_REGISTER_PER_HOUR', 20, 0, 1_000_000),
      avatarMaxBytes: integer('AVATAR_MAX_BYTES', 5 * 1024 * 1024, 1024, 100 * 1024 * 1024),
      avatarUploadsPerHour: integer('RATE_LIMIT_AVATAR_PER_HOUR', 20, 0, 1_000_000),
    },
    crypto: { tokenEncryptionKeys },
    jobs: { lockDurationMs: integer('JOB_LOCK_DURATION_MS', 30_000, 500, 3_600_000) },
    session: { secret: sessionSecret },
    admin: {
      enabled: boolean('ADMIN_ENABLED', true),
      sessionTtlSeconds: duration('ADMIN_SESSION_TTL', '12h'),
    },
    media: {
      storage: mediaStorage(get('MEDIA_STORAGE'), problems),
      s3: s3Settings(get, url, boolean, get('MEDIA_STORAGE') === 's3', problems),
      urlTtlSeconds: duration('MEDIA_URL_TTL', '1h'),
      // A key of its own: one that signs media URLs never signs (or checks) anything else.
      signingKey:
        mediaUrlSecret !== undefined
          ? Buffer.from(mediaUrlSecret, 'utf8')
          : Buffer.from(hkdfSync('sha256', jwtSecret, '', MEDIA_URL_KEY_LABEL, 32)),
    },
    images: {
      provider,
      requestTimeoutMs: duration('IMAGE_REQUEST_TIMEOUT', '120s') * 1000,
      downloadMaxBytes: integer(
        'IMAGE_DOWNLOAD_MAX_BYTES',
        25 * 1024 * 1024,
        1024,
        500 * 1024 * 1024,
      ),
      // Floor: the largest image a user may ask for (2048 × 2048) must decode.
      maxPixels: integer('IMAGE_MAX_PIXELS', 40_000_000, 2048 * 2048, 1_000_000_000),
      attempts: integer('IMAGE_GENERATION_ATTEMPTS', 4, 1, 20),
      backoffMs: integer('IMAGE_RETRY_BACKOFF_MS', 2000, 1, 600_000),
      concurrency: integer('IMAGE_WORKER_CONCURRENCY', 4, 1, 100),
      maxActivePerUser: integer('IMAGE_MAX_ACTIVE_PER_USER', 5, 1, 10_000),
      listCacheBytes: integer('IMAGE_LIST_CACHE_MB', 32, 0, 4096) * 1024 * 1024,
      dailyLimitPerUser: integer('IMAGE_DAILY_LIMIT_PER_USER', 200, 1, 1_000_000),
      blackbox: {
        url: url('BLACKBOX_API_URL', 'https://api.blackbox.ai', ['http:', 'https:']),
        apiKey: blackboxKey,
        model: get('BLACKBOX_IMAGE_MODEL') ?? 'blackboxai/black-forest-labs/flux-pro',
      },
      openai: {
        url: url('OPENAI_API_URL', 'https://api.openai.com/v1', ['http:', 'https:']),
        apiKey: openaiKey,
        model: get('OPENAI_IMAGE_MODEL') ?? 'dall-e-3',
      },
      automatic1111: { url: url('SD_API_URL', 'http://127.0.0.1:7860', ['http:', 'https:']) },
    },
    publishing: {
      concurrency: integer('PUBLISH_WORKER_CONCURRENCY', 50, 1, 500),
      analyticsConcurrency: integer('ANALYTICS_WORKER_CONCURRENCY', 5, 1, 100),
      // Renewed while a worker publishes; it runs out only when the worker is gone.
      leaseMs: duration('PUBLISH_LEASE', '2m') * 1000,
      attempts: integer('PUBLISH_ATTEMPTS', 5, 1, 50),
      backoffMs: integer('PUBLISH_RETRY_BACKOFF_MS', 5000, 1, 3_600_000),
      requestTimeoutMs: duration('PLATFORM_REQUEST_TIMEOUT', '30s') * 1000,
      mediaUrlTtlSeconds: duration('PLATFORM_MEDIA_URL_TTL', '24h'),
    },
    schedules: {
      imageLeadTimeMs: duration('SCHEDULE_IMAGE_LEAD_TIME', '1h') * 1000,
      missedAfterMs: duration('SCHEDULE_MISSED_AFTER', '1h') * 1000,
    },
    events: { concurrency: integer('EVENT_WORKER_CONCURRENCY', 20, 1, 500) },
    platforms: {
      instagramGraphUrl: url('INSTAGRAM_GRAPH_URL', 'https://graph.facebook.com/v21.0', [
        'http:',
        'https:',
      ]),
      facebookGraphUrl: url('FACEBOOK_GRAPH_URL', 'https://graph.facebook.com/v21.0', [
        'http:',
        'https:',
      ]),
      xApiUrl: url('X_API_URL', 'https://api.x.com', ['http:', 'https:']),
      linkedinApiUrl: url('LINKEDIN_API_URL', 'https://api.linkedin.com', ['http:', 'https:']),
      tiktokApiUrl: url('TIKTOK_API_URL', 'https://open.tiktokapis.com', ['http:', 'https:']),
      oauth: {
        x: { clientId: get('X_CLIENT_ID'), clientSecret: get('X_CLIENT_SECRET') },
        linkedin: {
          clientId: get('LINKEDIN_CLIENT_ID'),
          clientSecret: get('LINKEDIN_CLIENT_SECRET'),
        },
        tiktok: { clientKey: get('TIKTOK_CLIENT_KEY'), clientSecret: get('TIKTOK_CLIENT_SECRET') },
      },
    },
    mail: {
      smtpUrl,
      from: mailFrom(get('MAIL_FROM'), problems),
      passwordResetUrl,
      unsubscribeKey: Buffer.from(hkdfSync('sha256', jwtSecret, '', UNSUBSCRIBE_KEY_LABEL, 32)),
      attempts: integer('MAIL_ATTEMPTS', 5, 1, 50),
      backoffMs: integer('MAIL_RETRY_BACKOFF_MS', 30_000, 1, 3_600_000),
      concurrency: integer('MAIL_WORKER_CONCURRENCY', 5, 1, 100),
    },
    webhooks: {
      retryScheduleMs: parseRetrySchedule(
        get('WEBHOOK_RETRY_SCHEDULE') ?? DEFAULT_WEBHOOK_RETRY_SCHEDULE,
        problems,
      ),
      allowPrivateNetworks: boolean('WEBHOOK_ALLOW_PRIVATE_NETWORKS', false),
      concurrency: integer('WEBHOOK_WORKER_CONCURRENCY', 50, 1, 500),
    },
    notices,
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** api.md: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about a day and a half in all). */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,10h';

/** WEBHOOK_RETRY_SCHEDULE: comma-separated durations (`1s,2s,3s`), one per retry, at most 20. */
function parseRetrySchedule(raw: string, problems: string[]): number[] {
  const seconds = raw.split(',').map((entry) => parseDurationSeconds(entry));
  if (seconds.length > 20 || seconds.some((value) => value === null)) {
    problems.push(
      `WEBHOOK_RETRY_SCHEDULE must be up to 20 comma-separated durations, like 5s,5m,30m,2h (got "${raw}")`,
    );
    return parseRetrySchedule(DEFAULT_WEBHOOK_RETRY_SCHEDULE, []);
  }
  return seconds.map((value) => value! * 1000);
}

const DEFAULT_MAIL_FROM = 'Image Automation <no-reply@localhost>';

/** `addr@host` or `Name <addr@host>`: one sender, no header injection (no CR/LF, no list). */
function mailFrom(raw: string | undefined, problems: string[]): string {
  if (raw === undefined) return DEFAULT_MAIL_FROM;
  const address = /^(?:[^<>\r\n,]*<([^<>\s,]+@[^<>\s,]+)>|([^<>\s,]+@[^<>\s,]+))$/.exec(raw);
  if (!address) {
    problems.push(
      `MAIL_FROM must be an address such as no-reply@example.com or "Name <no-reply@example.com>" (got "${raw}")`,
    );
    return DEFAULT_MAIL_FROM;
  }
  return raw;
}

/** Express's names for address ranges, accepted in TRUST_PROXY's list as Express accepts them. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * The proxies whose X-Forwarded-For is believed: a hop count, or their addresses (IPs, CIDR
 * ranges, Express's range names). `true` would believe every hop, so that a client could write its
 * own address and escape the per-address limits: refused, naming the forms to use instead.
 */
function parseTrustProxy(raw: string | undefined, problems: string[]): number | string[] {
  if (raw === undefined || raw === 'false') return 0;
  if (raw === 'true') {
    problems.push(
      'TRUST_PROXY must not be true, which believes every X-Forwarded-For hop (a client could ' +
        'choose its own address): give a hop count (0 when clients connect directly, 1 behind one ' +
        "reverse proxy) or a comma-separated list of the proxies' addresses (e.g. 10.0.0.5,10.0.0.6)",
    );
    return 0;
  }
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops <= 10) return hops;
  }
  const proxies = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const valid = (entry: string) => {
    if (PROXY_RANGE_NAMES.includes(entry)) return true;
    const [address, prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return false;
    if (prefix === undefined) return true;
    return /^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
  };
  const wrong = proxies.filter((entry) => !valid(entry));
  if (proxies.length === 0 || wrong.length > 0) {
    problems.push(
      'TRUST_PROXY must be a hop count from 0 to 10 or a comma-separated list of proxy addresses ' +
        `(IPs, CIDR ranges, loopback, linklocal or uniquelocal) (got "${raw}")`,
    );
    return 0;
  }
  return proxies;
}

function parseEncryptionKey(
  raw: string | undefined,
  production: boolean,
  problems: string[],
  notices: string[],
): Buffer {
  if (raw === undefined) {
    if (production)
      problems.push('TOKEN_ENCRYPTION_KEY is required in production (or TOKEN_ENCRYPTION_KEYS)');
    else
      notices.push(
        'TOKEN_ENCRYPTION_KEY is not set: using a development key (never do this in production)',
      );
    return createHash('sha256').update('development-only-token-encryption-key').digest();
  }
  // Node's base64 decoder skips characters it does not know: check the alphabet first.
  const isBase64 = /^[A-Za-z0-9+/_-]+={0,2}$/.test(raw);
  const key = /^[0-9a-fA-F]{64}$/.test(raw)
    ? Buffer.from(raw, 'hex')
    : isBase64
      ? Buffer.from(raw, 'base64')
      : Buffer.alloc(0);
  if (key.length !== 32) {
    problems.push('TOKEN_ENCRYPTION_KEY must be 32 bytes, as 64 hex characters or base64');
  }
  return key;
}

/** TOKEN_ENCRYPTION_KEYS: comma-separated 64-hex keys, the first encrypts, all decrypt. */
function parseEncryptionKeyRing(raw: string, problems: string[]): Buffer[] {
  const entries = raw.split(',').map((entry) => entry.trim());
  if (!entries.every((entry) => /^[0-9a-fA-F]{64}$/.test(entry))) {
    problems.push(
      'TOKEN_ENCRYPTION_KEYS must be comma-separated keys of 32 bytes, each as 64 hex characters',
    );
    return [];
  }
  const keys = entries.map((entry) => Buffer.from(entry, 'hex'));
  if (new Set(keys.map((key) => key.toString('hex'))).size !== keys.length)
    problems.push('TOKEN_ENCRYPTION_KEYS names the same key twice');
  return keys;
}

/** MEDIA_STORAGE: where media bytes live. */
function mediaStorage(raw: string | undefined, problems: string[]): MediaStorageKind {
  if (raw === undefined) return 'local';
  if ((MEDIA_STORAGES as readonly string[]).includes(raw)) return raw as MediaStorageKind;
  problems.push(`MEDIA_STORAGE must be one of ${MEDIA_STORAGES.join(', ')} (got "${raw}")`);
  return 'local';
}

/**
 * The S3_* settings: read always (media:migrate uses them under MEDIA_STORAGE=local), required
 * only when MEDIA_STORAGE=s3. Credentials come as a pair or not at all (then the SDK's own chain:
 * AWS_* variables, an instance role).
 */
function s3Settings(
  get: (name: string) => string | undefined,
  url: (name: string, fallback: string, protocols: string[]) => string,
  boolean: (name: string, fallback: boolean) => boolean,
  required: boolean,
  problems: string[],
): S3Settings | null {
  const bucket = get('S3_BUCKET');
  if (bucket === undefined) {
    if (required) problems.push('S3_BUCKET is required when MEDIA_STORAGE=s3');
    return null;
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    problems.push(
      `S3_BUCKET must be a bucket name (3 to 63 lowercase letters, digits, dots and hyphens; got "${bucket}")`,
    );
  const endpoint = get('S3_ENDPOINT');
  const accessKeyId = get('S3_ACCESS_KEY_ID');
  const secretAccessKey = get('S3_SECRET_ACCESS_KEY');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined))
    problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together');
  return {
    bucket,
    endpoint:
      endpoint === undefined ? undefined : url('S3_ENDPOINT', endpoint, ['http:', 'https:']),
    region: get('S3_REGION') ?? 'us-east-1',
    credentials:
      accessKeyId !== undefined && secretAccessKey !== undefined
        ? { accessKeyId, secretAccessKey }
        : undefined,
    forcePathStyle: boolean('S3_FORCE_PATH_STYLE', endpoint !== undefined),
  };
}
