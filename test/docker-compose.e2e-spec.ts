import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { ConfigError, loadConfig } from '@app/common';
import { ROOT } from './support/spawn.js';

/**
 * The app service's `environment:` in docker-compose.yml, interpolated as compose does with the
 * host variables in `host` (only the `${NAME}` and `${NAME:-default}` forms the file uses).
 */
function composeAppEnvironment(host: Record<string, string>): Record<string, string> {
  const text = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
  const app = /^ {2}app:\n((?: {4,}.*\n|\s*\n)*)/m.exec(text)?.[1];
  const block = app && /^ {4}environment:\n((?: {6}.*\n)*)/m.exec(app)?.[1];
  if (!block) throw new Error('docker-compose.yml has no app service with an environment');
  const env: Record<string, string> = {};
  for (const line of block.split('\n')) {
    const entry = /^ {6}([A-Z0-9_]+): (.*)$/.exec(line);
    if (!entry) continue;
    const value = entry[2].replace(/^'(.*)'$/, '$1');
    env[entry[1]] = value.replace(
      /\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g,
      (_, name: string, fallback?: string) => host[name] || (fallback ?? ''),
    );
    if (/\$\{/.test(env[entry[1]])) throw new Error(`Cannot interpolate ${line.trim()}`);
  }
  return env;
}

describe('docker-compose.yml', () => {
  it('runs the app in production, which refuses to start without the secrets, naming each', () => {
    const env = composeAppEnvironment({ NODE_ENV: 'development' });
    expect(env.NODE_ENV).toBe('production');
    let problems: string[] = [];
    try {
      loadConfig(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      problems = (error as ConfigError).problems;
    }
    expect(problems.map((problem) => problem.split(' ', 1)[0]).sort()).toEqual([
      'JWT_SECRET',
      'SESSION_SECRET',
      'TOKEN_ENCRYPTION_KEY',
    ]);
  });

  it('starts the app once the secrets are set, passing the key ring and the media key through', () => {
    const ring = `${'b'.repeat(64)},${'a'.repeat(64)}`;
    const config = loadConfig(
      composeAppEnvironment({
        JWT_SECRET: 'j'.repeat(40),
        SESSION_SECRET: 's'.repeat(40),
        TOKEN_ENCRYPTION_KEYS: ring,
        MEDIA_URL_SECRET: 'm'.repeat(40),
      }),
    );
    expect(config.env).toBe('production');
    expect(config.crypto.tokenEncryptionKeys.map((key) => key.toString('hex')).join(',')).toBe(
      ring,
    );
    expect(config.media.signingKey.toString('utf8')).toBe('m'.repeat(40));
  });
});

interface ComposeService {
  image?: string;
  build?: string;
  profiles?: string[];
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }> | string[];
  volumes?: string[];
  ports?: string[];
}

/** The file as compose reads it: YAML with merge keys, `${NAME:-default}` and `$$` interpolated. */
function composeFile(host: Record<string, string>): {
  services: Record<string, ComposeService>;
  configs: Record<string, { content: string }>;
} {
  const text = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
  const interpolated = text.replace(
    /\$\$|\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g,
    (match, name?: string, fallback?: string) =>
      match === '$$' ? '$' : host[name!] || (fallback ?? ''),
  );
  return parse(interpolated, { merge: true });
}

describe('docker-compose.yml, profile cluster', () => {
  const secrets = {
    JWT_SECRET: 'j'.repeat(40),
    SESSION_SECRET: 's'.repeat(40),
    TOKEN_ENCRYPTION_KEY: 'c'.repeat(64),
  };
  const { services, configs } = composeFile(secrets);
  const cluster = Object.entries(services).filter(([, service]) =>
    service.profiles?.includes('cluster'),
  );

  it('runs two API nodes, two workers and a scheduler, none of them with a media volume', () => {
    expect(Object.fromEntries(cluster.map(([name, s]) => [name, s.deploy?.replicas ?? 1]))).toEqual(
      { minio: 1, 'minio-init': 1, api: 2, worker: 2, scheduler: 1, lb: 1 },
    );
    const roles = Object.fromEntries(
      cluster
        .filter(([, service]) => service.build)
        .map(([name, service]) => [name, service.environment?.APP_ROLES]),
    );
    expect(roles).toEqual({ api: 'api', worker: 'worker', scheduler: 'scheduler' });
    for (const name of Object.keys(roles)) {
      expect(services[name].volumes).toBeUndefined();
      expect(services[name].depends_on).toMatchObject({
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
        'minio-init': { condition: 'service_completed_successfully' },
      });
    }
    // The services alone, and the single-process stack, are not part of the profile.
    for (const name of ['postgres', 'redis', 'app'])
      expect(services[name].profiles).toBeUndefined();
  });

  it('gives every node one configuration that loads: production, MinIO’s bucket, one proxy hop', () => {
    const bucket = /mc mb --ignore-existing store\/(\S+)/.exec(
      services['minio-init'].entrypoint!.join(' '),
    )?.[1];
    for (const name of ['api', 'worker', 'scheduler']) {
      const config = loadConfig(services[name].environment);
      expect(config.env).toBe('production');
      expect(config.media.storage).toBe('s3');
      expect(config.media.s3).toMatchObject({
        endpoint: 'http://minio:9000',
        bucket,
        forcePathStyle: true,
        credentials: {
          accessKeyId: services.minio.environment!.MINIO_ROOT_USER,
          secretAccessKey: services.minio.environment!.MINIO_ROOT_PASSWORD,
        },
      });
      expect(config.trustProxy).toBe(1);
      expect(config.publicBaseUrl).toBe('http://localhost:8080');
    }
    // Without the secrets, every node refuses to start, as the single app does.
    const bare = composeFile({}).services.api.environment!;
    expect(() => loadConfig(bare)).toThrow(ConfigError);
  });

  it('puts nginx in front of the API nodes, passing the client address on', () => {
    const conf = configs['lb-config'].content;
    expect(conf).toContain('server api:3000;');
    expect(conf).toContain('proxy_pass http://api;');
    expect(conf).toContain('proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;');
    expect(services.lb.ports).toEqual(['8080:80']);
  });
});
