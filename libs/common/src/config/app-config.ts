export const APP_ROLES = ['api', 'worker', 'scheduler'] as const;
export type AppRole = (typeof APP_ROLES)[number];

export const IMAGE_PROVIDERS = ['blackbox', 'openai', 'automatic1111', 'local'] as const;
export type ImageProviderName = (typeof IMAGE_PROVIDERS)[number];

export type NodeEnv = 'development' | 'production' | 'test';

/** The whole validated configuration, one object per area; built once at boot by loadConfig(). */
export interface AppConfig {
  env: NodeEnv;
  port: number;
  roles: ReadonlySet<AppRole>;
  publicBaseUrl: string;
  mediaRoot: string;
  logLevel: string;
  trustProxy: boolean;
  database: { url: string };
  redis: { url: string; prefix: string };
  auth: {
    jwtSecret: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
    loginMaxFailures: number;
    loginWindowSeconds: number;
    avatarMaxBytes: number;
  };
  crypto: { tokenEncryptionKey: Buffer };
  session: { secret: string };
  media: { urlTtlSeconds: number; signingSecret: string };
  images: {
    provider: ImageProviderName;
    blackbox: { url: string; apiKey?: string; model: string };
    openai: { url: string; apiKey?: string; model: string };
    automatic1111: { url: string };
  };
  platforms: {
    instagramGraphUrl: string;
    facebookGraphUrl: string;
    xApiUrl: string;
    linkedinApiUrl: string;
    tiktokApiUrl: string;
  };
  mail: { smtpUrl?: string; from: string };
  /** Lines worth logging once the logger exists (development secrets in use, provider chosen). */
  notices: string[];
}

export const APP_CONFIG = Symbol('APP_CONFIG');
