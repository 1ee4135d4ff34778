export const APP_ROLES = ['api', 'worker', 'scheduler'] as const;
export type AppRole = (typeof APP_ROLES)[number];

export const IMAGE_PROVIDERS = ['blackbox', 'openai', 'automatic1111', 'local'] as const;
export type ImageProviderName = (typeof IMAGE_PROVIDERS)[number];

export const MEDIA_STORAGES = ['local', 's3'] as const;
export type MediaStorageKind = (typeof MEDIA_STORAGES)[number];

/** Where an S3-compatible store is and how to sign in (AWS S3, MinIO, R2, Ceph...). */
export interface S3Settings {
  bucket: string;
  /** Unset: AWS S3 itself. */
  endpoint?: string;
  region: string;
  /** Unset: the SDK's default chain (AWS_* variables, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** `bucket` in the path rather than the host name: MinIO, s3rver and most self-hosted stores. */
  forcePathStyle: boolean;
}

export type NodeEnv = 'development' | 'production' | 'test';

/** The whole validated configuration, one object per area; built once at boot by loadConfig(). */
export interface AppConfig {
  env: NodeEnv;
  port: number;
  roles: ReadonlySet<AppRole>;
  publicBaseUrl: string;
  mediaRoot: string;
  logLevel: string;
  /**
   * Express's `trust proxy`: how many proxy hops in front of the app (0: none), or the proxies'
   * addresses. The client address (per-address limits) is read from X-Forwarded-For across them.
   */
  trustProxy: number | string[];
  database: { url: string };
  redis: { url: string; prefix: string };
  auth: {
    jwtSecret: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
    loginMaxFailures: number;
    loginWindowSeconds: number;
    /** Registrations per client address per hour (and, once built, password resets); 0: no limit. */
    registrationsPerIpPerHour: number;
    avatarMaxBytes: number;
    /** Avatar uploads one user may make per hour (refused ones count); 0 turns the limit off. */
    avatarUploadsPerHour: number;
  };
  /** Keys of the third-party tokens at rest: the first encrypts, every one decrypts. */
  crypto: { tokenEncryptionKeys: Buffer[] };
  /** How long a job's lock lasts without renewal: a killed worker's job runs again after it. */
  jobs: { lockDurationMs: number };
  session: { secret: string };
  /** AdminJS and the queue board at /admin (served by the api role). */
  admin: {
    /** false: /admin is not mounted (an API-only replica, or a boot without AdminJS's import cost). */
    enabled: boolean;
    /** Idle lifetime of a staff sign-in; each request renews it. */
    sessionTtlSeconds: number;
  };
  /** Media URLs are signed with a key used for nothing else (MEDIA_URL_SECRET or HKDF of JWT_SECRET). */
  media: {
    /** MEDIA_STORAGE: `local` (files under MEDIA_ROOT) or `s3` (an S3-compatible store). */
    storage: MediaStorageKind;
    /** The S3_* settings when S3_BUCKET is set (required under `s3`; `media:migrate` reads them). */
    s3: S3Settings | null;
    urlTtlSeconds: number;
    signingKey: Buffer;
  };
  images: {
    provider: ImageProviderName;
    /** One provider call, download included, may take this long before it counts as a timeout. */
    requestTimeoutMs: number;
    downloadMaxBytes: number;
    /**
     * Largest image decoded, in pixels (width × height): avatars and provider images alike. A
     * small, highly compressed file can otherwise hold hundreds of megapixels.
     */
    maxPixels: number;
    /** Tries of one generation job (transient errors only; permanent ones fail at once). */
    attempts: number;
    /** First retry delay; doubles each try unless the provider said Retry-After. */
    backoffMs: number;
    /** Generation jobs run at once in one worker process. */
    concurrency: number;
    /** Per user: images pending or generating at once, and generation requests per UTC day. */
    maxActivePerUser: number;
    dailyLimitPerUser: number;
    blackbox: { url: string; apiKey?: string; model: string };
    openai: { url: string; apiKey?: string; model: string };
    automatic1111: { url: string };
    /**
     * IMAGE_LIST_CACHE_MB: memory each API process gives the image list's answers, kept while
     * the list's version is unchanged (ImageListCache); 0 turns the cache off.
     */
    listCacheBytes: number;
  };
  publishing: {
    /** Publish jobs at once in one worker process (they wait on the platforms, not the CPU). */
    concurrency: number;
    /** Metrics syncs at once in one worker process, on their own queue. */
    analyticsConcurrency: number;
    /** A post left in processing longer than this is reconciled. */
    leaseMs: number;
    /** Tries of one post on transient errors and rate limits before it fails. */
    attempts: number;
    backoffMs: number;
    /** Platform calls time out after this. */
    requestTimeoutMs: number;
    /** How long a signed image URL handed to a platform stays valid. */
    mediaUrlTtlSeconds: number;
  };
  schedules: {
    /** A schedule with a prompt asks for its image this long before the occurrence. */
    imageLeadTimeMs: number;
    /** An occurrence found later than this (the scheduler was down) is recorded as missed, not posted. */
    missedAfterMs: number;
  };
  events: {
    /** Outbox dispatch jobs at once in one worker process (each waits on its consumers). */
    concurrency: number;
  };
  platforms: {
    instagramGraphUrl: string;
    facebookGraphUrl: string;
    xApiUrl: string;
    linkedinApiUrl: string;
    tiktokApiUrl: string;
    /** OAuth clients, needed only to refresh expired tokens (X, LinkedIn, TikTok issue refresh tokens). */
    oauth: {
      x: { clientId?: string; clientSecret?: string };
      linkedin: { clientId?: string; clientSecret?: string };
      tiktok: { clientKey?: string; clientSecret?: string };
    };
  };
  mail: {
    /** Unset: messages are written to the log outside production, and dropped (logged as such) in it. */
    smtpUrl?: string;
    from: string;
    /** Where a reset link points (the client app's page); `{token}` is replaced by the token. */
    passwordResetUrl: string;
    /** Key of the one-click unsubscribe links' HMAC (HKDF of JWT_SECRET, a label of its own). */
    unsubscribeKey: Buffer;
    /** Tries of one message on temporary SMTP errors, and the first retry's delay (then doubled). */
    attempts: number;
    backoffMs: number;
    /** Mail jobs at once in one worker process. */
    concurrency: number;
  };
  webhooks: {
    /** Delay before each retry of a failed delivery; once they are spent the delivery is failed. */
    retryScheduleMs: number[];
    /** Lets endpoints on loopback and private networks through (tests, a closed network); off by default. */
    allowPrivateNetworks: boolean;
    /** Deliveries at once in one worker process (they wait on the receivers, not the CPU). */
    concurrency: number;
  };
  /** Lines worth logging once the logger exists (development secrets in use, provider chosen). */
  notices: string[];
}

export const APP_CONFIG = Symbol('APP_CONFIG');
