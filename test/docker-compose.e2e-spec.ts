import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
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
