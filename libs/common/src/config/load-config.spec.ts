import { hkdfSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './load-config.js';

type Env = Record<string, string | undefined>;

/** The problems loadConfig reports for env; fails when it accepts env. */
function problemsFor(env: Env): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    for (const problem of problems) expect(message).toContain(problem);
    return problems;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

/** The names the problems start with (each message starts with its variable's name). */
function namesIn(problems: string[]): string[] {
  return problems.map((problem) => problem.split(/\s/, 1)[0]);
}

const KEY_BYTES = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7));

describe('loadConfig', () => {
  it('runs on an empty environment with development defaults, and says so', () => {
    const config = loadConfig({});

    expect(config.env).toBe('development');
    expect(config.port).toBe(3000);
    expect([...config.roles].sort()).toEqual(['api', 'scheduler', 'worker']);
    expect(config.images.provider).toBe('local');
    expect(config.auth.accessTtlSeconds).toBe(900);
    expect(config.auth.refreshTtlSeconds).toBe(604800);
    expect(config.database.url).toBe('postgres://postgres@127.0.0.1:5432/image_automation');
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.publicBaseUrl).toBe('http://localhost:3000');
    expect(config.auth.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(config.session.secret.length).toBeGreaterThanOrEqual(32);
    expect(config.crypto.tokenEncryptionKeys.map((key) => key.length)).toEqual([32]);

    const notices = config.notices.join('\n');
    expect(notices).toMatch(/IMAGE_PROVIDER.*local provider/);
    for (const name of ['JWT_SECRET', 'SESSION_SECRET', 'TOKEN_ENCRYPTION_KEY']) {
      expect(config.notices).toContainEqual(
        expect.stringMatching(new RegExp(`^${name} is not set: using a development`)),
      );
    }
  });

  it('says nothing about secrets that are set', () => {
    const config = loadConfig({
      JWT_SECRET: 'j'.repeat(32),
      SESSION_SECRET: 's'.repeat(32),
      TOKEN_ENCRYPTION_KEY: KEY_BYTES.toString('hex'),
    });
    expect(config.auth.jwtSecret).toBe('j'.repeat(32));
    expect(config.session.secret).toBe('s'.repeat(32));
    expect(config.notices.join('\n')).not.toMatch(/JWT_SECRET|SESSION_SECRET|TOKEN_ENCRYPTION/);
  });

  it('mounts the admin panel by default, for 12-hour sessions; ADMIN_* change that', () => {
    expect(loadConfig({}).admin).toEqual({ enabled: true, sessionTtlSeconds: 12 * 3600 });
    expect(loadConfig({ ADMIN_ENABLED: 'false', ADMIN_SESSION_TTL: '30m' }).admin).toEqual({
      enabled: false,
      sessionTtlSeconds: 1800,
    });
    expect(
      namesIn(problemsFor({ ADMIN_ENABLED: 'no', ADMIN_SESSION_TTL: 'a while' })).sort(),
    ).toEqual(['ADMIN_ENABLED', 'ADMIN_SESSION_TTL']);
  });

  it.each([
    ['900', 900],
    ['15m', 900],
    ['7d', 604800],
  ])('reads JWT_ACCESS_TTL=%s as %d seconds', (value, seconds) => {
    expect(loadConfig({ JWT_ACCESS_TTL: value }).auth.accessTtlSeconds).toBe(seconds);
  });

  it.each(['abc', '0', '-5', '15x'])('refuses JWT_ACCESS_TTL=%s, naming it', (value) => {
    const problems = problemsFor({ JWT_ACCESS_TTL: value });
    expect(namesIn(problems)).toEqual(['JWT_ACCESS_TTL']);
    expect(problems[0]).toContain(`"${value}"`);
  });

  it('reads JWT_REFRESH_TTL like the access one', () => {
    expect(loadConfig({ JWT_REFRESH_TTL: '30d' }).auth.refreshTtlSeconds).toBe(30 * 86400);
    expect(namesIn(problemsFor({ JWT_REFRESH_TTL: 'soon' }))).toEqual(['JWT_REFRESH_TTL']);
  });

  it('runs only the roles in APP_ROLES', () => {
    const config = loadConfig({ APP_ROLES: 'worker, scheduler' });
    expect([...config.roles].sort()).toEqual(['scheduler', 'worker']);
    expect(config.roles.has('api')).toBe(false);
  });

  it('refuses an unknown role, naming APP_ROLES and the role', () => {
    const problems = problemsFor({ APP_ROLES: 'api,cron' });
    expect(namesIn(problems)).toEqual(['APP_ROLES']);
    expect(problems[0]).toContain('"cron"');
  });

  it('refuses an APP_ROLES that names no role', () => {
    expect(namesIn(problemsFor({ APP_ROLES: ' , ' }))).toEqual(['APP_ROLES']);
  });

  it.each(['x', '70000', '0', '3000.5'])('refuses PORT=%s, naming PORT', (value) => {
    expect(namesIn(problemsFor({ PORT: value }))).toEqual(['PORT']);
  });

  it('reads PORT and derives the default public URL from it', () => {
    const config = loadConfig({ PORT: '8080' });
    expect(config.port).toBe(8080);
    expect(config.publicBaseUrl).toBe('http://localhost:8080');
  });

  it('accepts TOKEN_ENCRYPTION_KEY as 64 hex characters', () => {
    const config = loadConfig({ TOKEN_ENCRYPTION_KEY: KEY_BYTES.toString('hex') });
    expect(config.crypto.tokenEncryptionKeys).toEqual([KEY_BYTES]);
  });

  it('accepts TOKEN_ENCRYPTION_KEY as base64 of 32 bytes', () => {
    const config = loadConfig({ TOKEN_ENCRYPTION_KEY: KEY_BYTES.toString('base64') });
    expect(config.crypto.tokenEncryptionKeys).toEqual([KEY_BYTES]);
  });

  it.each([
    ['base64 of 16 bytes', KEY_BYTES.subarray(0, 16).toString('base64')],
    ['hex of 16 bytes', KEY_BYTES.subarray(0, 16).toString('hex')],
    ['base64 of 33 bytes', Buffer.concat([KEY_BYTES, Buffer.from([1])]).toString('base64')],
  ])('refuses TOKEN_ENCRYPTION_KEY as %s', (_, value) => {
    const problems = problemsFor({ TOKEN_ENCRYPTION_KEY: value });
    expect(namesIn(problems)).toEqual(['TOKEN_ENCRYPTION_KEY']);
    expect(problems[0]).toContain('32 bytes');
  });

  it('reads TOKEN_ENCRYPTION_KEYS as a ring, first key first, in place of TOKEN_ENCRYPTION_KEY', () => {
    const other = Buffer.alloc(32, 9);
    const config = loadConfig({
      TOKEN_ENCRYPTION_KEYS: ` ${other.toString('hex')} , ${KEY_BYTES.toString('hex')}`,
      TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('hex'),
    });
    expect(config.crypto.tokenEncryptionKeys).toEqual([other, KEY_BYTES]);
    expect(config.notices.join('\n')).not.toMatch(/TOKEN_ENCRYPTION/);
  });

  it.each([
    ['a key of 16 bytes', KEY_BYTES.subarray(0, 16).toString('hex')],
    ['base64 (hex only)', KEY_BYTES.toString('base64')],
    ['an empty entry', `${KEY_BYTES.toString('hex')},,${Buffer.alloc(32, 9).toString('hex')}`],
    [
      'the same key twice',
      `${KEY_BYTES.toString('hex')},${KEY_BYTES.toString('hex').toUpperCase()}`,
    ],
    ['commas alone', ' , '],
  ])('refuses TOKEN_ENCRYPTION_KEYS with %s', (_, value) => {
    const problems = problemsFor({ TOKEN_ENCRYPTION_KEYS: value });
    expect(namesIn(problems)).toEqual(['TOKEN_ENCRYPTION_KEYS']);
  });

  it('runs in production with TOKEN_ENCRYPTION_KEYS alone', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'j'.repeat(40),
      SESSION_SECRET: 's'.repeat(40),
      TOKEN_ENCRYPTION_KEYS: KEY_BYTES.toString('hex'),
    });
    expect(config.crypto.tokenEncryptionKeys).toEqual([KEY_BYTES]);
  });

  it('signs media URLs with a key of their own: MEDIA_URL_SECRET, or HKDF of JWT_SECRET', () => {
    const jwtSecret = 'j'.repeat(40);
    const derived = loadConfig({ JWT_SECRET: jwtSecret }).media.signingKey;
    expect(derived).toEqual(
      Buffer.from(hkdfSync('sha256', jwtSecret, '', 'image-automation media-url v1', 32)),
    );
    expect(derived.toString('utf8')).not.toContain(jwtSecret);
    const own = loadConfig({ JWT_SECRET: jwtSecret, MEDIA_URL_SECRET: 'm'.repeat(32) });
    expect(own.media.signingKey).toEqual(Buffer.from('m'.repeat(32)));
    expect(namesIn(problemsFor({ MEDIA_URL_SECRET: 'short' }))).toEqual(['MEDIA_URL_SECRET']);
    expect(
      namesIn(problemsFor({ MEDIA_URL_SECRET: 'j'.repeat(40), JWT_SECRET: 'j'.repeat(40) })),
    ).toEqual(['MEDIA_URL_SECRET']);
  });

  it('keeps media on the local disk by default; MEDIA_STORAGE=s3 reads the S3_* settings', () => {
    expect(loadConfig({}).media).toMatchObject({ storage: 'local', s3: null });
    const s3 = loadConfig({
      MEDIA_STORAGE: 's3',
      S3_ENDPOINT: 'http://minio:9000/',
      S3_BUCKET: 'media',
      S3_ACCESS_KEY_ID: 'id',
      S3_SECRET_ACCESS_KEY: 'secret',
      MEDIA_URL_TTL: '30s',
    }).media;
    expect(s3).toMatchObject({
      storage: 's3',
      urlTtlSeconds: 30,
      s3: {
        endpoint: 'http://minio:9000',
        bucket: 'media',
        region: 'us-east-1',
        credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
        // A custom endpoint is a self-hosted store: bucket in the path unless told otherwise.
        forcePathStyle: true,
      },
    });
    // AWS itself: virtual-hosted buckets and the SDK's own credential chain.
    expect(
      loadConfig({ MEDIA_STORAGE: 's3', S3_BUCKET: 'media', S3_REGION: 'eu-west-3' }).media.s3,
    ).toEqual({
      bucket: 'media',
      endpoint: undefined,
      region: 'eu-west-3',
      credentials: undefined,
      forcePathStyle: false,
    });
  });

  it('refuses an unknown MEDIA_STORAGE, s3 without a bucket, half a key pair, a bad bucket name', () => {
    expect(problemsFor({ MEDIA_STORAGE: 'ftp' })).toEqual([
      'MEDIA_STORAGE must be one of local, s3 (got "ftp")',
    ]);
    expect(problemsFor({ MEDIA_STORAGE: 's3' })).toEqual([
      'S3_BUCKET is required when MEDIA_STORAGE=s3',
    ]);
    expect(
      problemsFor({ MEDIA_STORAGE: 's3', S3_BUCKET: 'Bad_Bucket', S3_ACCESS_KEY_ID: 'id' }),
    ).toEqual([
      'S3_BUCKET must be a bucket name (3 to 63 lowercase letters, digits, dots and hyphens; got "Bad_Bucket")',
      'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together',
    ]);
  });

  it('refuses a DATABASE_URL that is not PostgreSQL', () => {
    const problems = problemsFor({ DATABASE_URL: 'mysql://root@127.0.0.1:3306/app' });
    expect(namesIn(problems)).toEqual(['DATABASE_URL']);
    expect(problems[0]).toContain('postgres:');
  });

  it('limits decoded images to 40 MP and avatar uploads to 20 an hour; both settable', () => {
    const defaults = loadConfig({});
    expect(defaults.images.maxPixels).toBe(40_000_000);
    expect(defaults.auth.avatarUploadsPerHour).toBe(20);
    const set = loadConfig({ IMAGE_MAX_PIXELS: '16777216', RATE_LIMIT_AVATAR_PER_HOUR: '0' });
    expect(set.images.maxPixels).toBe(16_777_216);
    expect(set.auth.avatarUploadsPerHour).toBe(0);
    // Below 2048 × 2048 the largest image a user may ask for would not decode.
    const problems = problemsFor({ IMAGE_MAX_PIXELS: '1000000', RATE_LIMIT_AVATAR_PER_HOUR: '-1' });
    expect(namesIn(problems)).toEqual(['RATE_LIMIT_AVATAR_PER_HOUR', 'IMAGE_MAX_PIXELS']);
  });

  it('refuses a REDIS_URL that is not a URL', () => {
    expect(namesIn(problemsFor({ REDIS_URL: '127.0.0.1:6379' }))).toEqual(['REDIS_URL']);
  });

  it('refuses to run in production without its secrets, naming all three at once', () => {
    const problems = problemsFor({ NODE_ENV: 'production' });
    expect(namesIn(problems).sort()).toEqual([
      'JWT_SECRET',
      'SESSION_SECRET',
      'TOKEN_ENCRYPTION_KEY',
    ]);
  });

  it('runs in production once the secrets are set, without development notices', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'j'.repeat(40),
      SESSION_SECRET: 's'.repeat(40),
      TOKEN_ENCRYPTION_KEY: KEY_BYTES.toString('base64'),
    });
    expect(config.env).toBe('production');
    expect(config.notices.join('\n')).not.toMatch(/development/);
  });

  it('refuses a secret that is too short, in any environment', () => {
    expect(namesIn(problemsFor({ JWT_SECRET: 'short' }))).toEqual(['JWT_SECRET']);
  });

  it('refuses IMAGE_PROVIDER=openai without OPENAI_API_KEY', () => {
    expect(namesIn(problemsFor({ IMAGE_PROVIDER: 'openai' }))).toEqual(['OPENAI_API_KEY']);
  });

  it('refuses an unknown IMAGE_PROVIDER, naming it', () => {
    expect(namesIn(problemsFor({ IMAGE_PROVIDER: 'midjourney' }))).toEqual(['IMAGE_PROVIDER']);
  });

  it('picks blackbox when IMAGE_PROVIDER is unset and BLACKBOX_API_KEY is set, and says so', () => {
    const config = loadConfig({ BLACKBOX_API_KEY: 'bb-key' });
    expect(config.images.provider).toBe('blackbox');
    expect(config.images.blackbox.apiKey).toBe('bb-key');
    expect(config.notices).toContainEqual(expect.stringMatching(/IMAGE_PROVIDER.*blackbox/));
  });

  it('keeps an explicit IMAGE_PROVIDER over a key that is set', () => {
    const config = loadConfig({ IMAGE_PROVIDER: 'local', BLACKBOX_API_KEY: 'bb-key' });
    expect(config.images.provider).toBe('local');
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ PORT: '', JWT_ACCESS_TTL: '  ', IMAGE_PROVIDER: '' });
    expect(config.port).toBe(3000);
    expect(config.auth.accessTtlSeconds).toBe(900);
    expect(config.images.provider).toBe('local');
  });

  it.each([
    [undefined, 0],
    ['0', 0],
    ['false', 0],
    ['1', 1],
    ['2', 2],
    ['10.0.0.1', ['10.0.0.1']],
    ['10.0.0.1, 10.0.0.2', ['10.0.0.1', '10.0.0.2']],
    ['loopback,10.0.0.0/8,fd00::/8', ['loopback', '10.0.0.0/8', 'fd00::/8']],
  ])('reads TRUST_PROXY=%s as %j (hops, or the proxies’ addresses)', (value, trustProxy) => {
    expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toEqual(trustProxy);
  });

  it('refuses TRUST_PROXY=true, which would let a client pick its own address, naming the new forms', () => {
    const problems = problemsFor({ TRUST_PROXY: 'true' });
    expect(namesIn(problems)).toEqual(['TRUST_PROXY']);
    expect(problems[0]).toMatch(/hop count/);
    expect(problems[0]).toMatch(/comma-separated list/);
  });

  it.each(['yes', '-1', '1.5', '10.0.0.1,proxy.example.com', '10.0.0.0/99', '300.1.1.1'])(
    'refuses TRUST_PROXY=%s, naming it',
    (value) => {
      const problems = problemsFor({ TRUST_PROXY: value });
      expect(namesIn(problems)).toEqual(['TRUST_PROXY']);
    },
  );

  it('limits registrations to 20 per hour per address; RATE_LIMIT_REGISTER_PER_HOUR=0 turns it off', () => {
    expect(loadConfig({}).auth.registrationsPerIpPerHour).toBe(20);
    expect(loadConfig({ RATE_LIMIT_REGISTER_PER_HOUR: '0' }).auth.registrationsPerIpPerHour).toBe(
      0,
    );
    expect(loadConfig({ RATE_LIMIT_REGISTER_PER_HOUR: '500' }).auth.registrationsPerIpPerHour).toBe(
      500,
    );
    expect(namesIn(problemsFor({ RATE_LIMIT_REGISTER_PER_HOUR: 'many' }))).toEqual([
      'RATE_LIMIT_REGISTER_PER_HOUR',
    ]);
  });

  it('retries webhooks after 5s, 5m, 30m, 2h, 5h, 10h, 10h and refuses private networks by default', () => {
    const defaults = loadConfig({});
    expect(defaults.webhooks.retryScheduleMs).toEqual(
      [5, 300, 1800, 7200, 18_000, 36_000, 36_000].map((seconds) => seconds * 1000),
    );
    expect(defaults.webhooks.allowPrivateNetworks).toBe(false);
    const set = loadConfig({
      WEBHOOK_RETRY_SCHEDULE: '1s, 2s,3m',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    });
    expect(set.webhooks.retryScheduleMs).toEqual([1000, 2000, 180_000]);
    expect(set.webhooks.allowPrivateNetworks).toBe(true);
    const problems = problemsFor({
      WEBHOOK_RETRY_SCHEDULE: '1s,soon',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'yes',
    });
    expect(namesIn(problems).sort()).toEqual([
      'WEBHOOK_ALLOW_PRIVATE_NETWORKS',
      'WEBHOOK_RETRY_SCHEDULE',
    ]);
  });

  it('reports every problem together in one error', () => {
    const problems = problemsFor({
      NODE_ENV: 'production',
      PORT: 'x',
      APP_ROLES: 'api,cron',
      JWT_ACCESS_TTL: 'abc',
      DATABASE_URL: 'mysql://root@127.0.0.1/app',
      IMAGE_PROVIDER: 'openai',
    });
    expect(namesIn(problems).sort()).toEqual([
      'APP_ROLES',
      'DATABASE_URL',
      'JWT_ACCESS_TTL',
      'JWT_SECRET',
      'OPENAI_API_KEY',
      'PORT',
      'SESSION_SECRET',
      'TOKEN_ENCRYPTION_KEY',
    ]);
  });
});
