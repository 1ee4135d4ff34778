import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import argon2 from 'argon2';
import { TokenCipher } from '@app/common';
import { AccountsService } from '../apps/server/src/scheduler/accounts.service.js';
import { bearer, newUserFields, registerUser, STRONG_PASSWORD } from './factories/user.factory.js';
import { dropScratchDatabase, migratedScratchDatabase, query } from './support/scratch-database.js';
import { ENTRY, type Exit, killAll, run } from './support/spawn.js';
import { createTestApp } from './support/test-app.js';
import { TEST_DATABASE_URL, testEnv } from './support/test-env.js';
import { sealedTheOldWay } from './support/legacy-token.js';

/** The built CLI (`npm run cli -- ...`) as a real process, without a terminal. */
function cli(...args: string[]): Promise<Exit> {
  return cliWith({}, ...args);
}

function cliWith(env: Record<string, string>, ...args: string[]): Promise<Exit> {
  return run(ENTRY.cli, args, testEnv(env));
}

interface UserRow {
  id: number;
  username: string;
  email: string;
  password: string;
  is_active: boolean;
  is_staff: boolean;
  is_superuser: boolean;
  profile_id: number | null;
}

function usersNamed(username: string): Promise<UserRow[]> {
  return query<UserRow>(
    TEST_DATABASE_URL,
    `SELECT u.id, u.username, u.email, u.password, u.is_active, u.is_staff, u.is_superuser,
            p.id AS profile_id
       FROM users u LEFT JOIN profiles p ON p.user_id = u.id
      WHERE lower(u.username) = lower($1)`,
    [username],
  );
}

function expectNoStackTrace(exit: Exit): void {
  expect(exit.stderr).not.toMatch(/^\s+at /m);
}

describe('CLI', () => {
  afterAll(() => killAll());

  describe('createsuperuser', () => {
    const admin = newUserFields();
    let created: Exit;
    beforeAll(async () => {
      created = await cli(
        'createsuperuser',
        '--username',
        admin.username,
        '--email',
        admin.email,
        '--password',
        admin.password,
      );
    });

    it('creates a staff superuser with a profile and an argon2id hash of the password', async () => {
      expect(created.stderr).toBe('');
      expect(created.code).toBe(0);
      expect(created.stdout).toBe(`Superuser "${admin.username}" created.\n`);

      const [user, ...others] = await usersNamed(admin.username);
      expect(others).toEqual([]);
      expect(user).toMatchObject({
        username: admin.username,
        email: admin.email,
        is_active: true,
        is_staff: true,
        is_superuser: true,
        profile_id: expect.any(Number),
      });
      expect(user.password).toMatch(/^\$argon2id\$/);
      expect(await argon2.verify(user.password, STRONG_PASSWORD)).toBe(true);
      expect(await argon2.verify(user.password, `${STRONG_PASSWORD}x`)).toBe(false);
    });

    it('refuses a username already taken, whatever the case', async () => {
      const other = newUserFields();
      const exit = await cli(
        'createsuperuser',
        '--username',
        admin.username.toUpperCase(),
        '--email',
        other.email,
        '--password',
        other.password,
      );
      expect(exit.code).toBe(1);
      expect(exit.stderr).toBe('Error: username: A user with that username already exists.\n');
      expect(await usersNamed(admin.username)).toHaveLength(1);
    });

    it('refuses a weak password, naming password', async () => {
      const fields = newUserFields();
      const exit = await cli(
        'createsuperuser',
        '--username',
        fields.username,
        '--email',
        fields.email,
        '--password',
        'password1',
      );
      expect(exit.code).toBe(1);
      expect(exit.stderr).toBe('Error: password: This password is too common.\n');
      expect(await usersNamed(fields.username)).toEqual([]);
    });

    it('asks for --password when there is no terminal to prompt in', async () => {
      const fields = newUserFields();
      const exit = await cli(
        'createsuperuser',
        '--username',
        fields.username,
        '--email',
        fields.email,
      );
      expect(exit.code).toBe(1);
      expect(exit.stderr).toBe(
        'Error: password: --password is required when not run in a terminal.\n',
      );
      expect(await usersNamed(fields.username)).toEqual([]);
    });

    it('answers an unknown option with the usage, exit code 2 and no stack trace', async () => {
      const exit = await cli('createsuperuser', '--user', 'someone');
      expect(exit.code).toBe(2);
      expect(exit.stderr).toMatch(/^Error: Unknown option '--user'/);
      expect(exit.stderr).toContain('Usage: npm run cli -- <command>');
      expectNoStackTrace(exit);
    });
  });

  describe('tokens:reencrypt', () => {
    // A database of its own: the command rewrites every account, and the run database holds
    // other files' accounts, sealed under their own key.
    let databaseUrl: string;
    const [keyA, keyB] = [randomBytes(32), randomBytes(32)];
    const ids: number[] = [];
    let updatedAt: unknown[];
    beforeAll(async () => {
      databaseUrl = await migratedScratchDatabase('image_automation_tokens');
      const app = await createTestApp({
        DATABASE_URL: databaseUrl,
        TOKEN_ENCRYPTION_KEYS: keyA.toString('hex'),
      });
      try {
        const user = await registerUser(app);
        for (const [platform, refresh] of [
          ['instagram', 'refresh-instagram'],
          ['twitter', null],
          ['linkedin', 'refresh-linkedin'],
        ] as const) {
          const response = await app
            .http()
            .post('/api/scheduler/accounts/')
            .set(bearer(user.access))
            .send({
              platform,
              account_id: `${platform}-1`,
              access_token: `access-${platform}`,
              ...(refresh ? { refresh_token: refresh } : {}),
            })
            .expect(201);
          ids.push(response.body.id as number);
        }
      } finally {
        await app.close();
      }
      // The LinkedIn account's tokens as stored before key rings (no key id), under key A.
      await query(
        databaseUrl,
        `UPDATE social_accounts SET access_token_encrypted = $2, refresh_token_encrypted = $3
         WHERE id = $1`,
        [
          ids[2],
          sealedTheOldWay(keyA, 'access-linkedin', `social_accounts:${ids[2]}:access_token`),
          sealedTheOldWay(keyA, 'refresh-linkedin', `social_accounts:${ids[2]}:refresh_token`),
        ],
      );
      updatedAt = await sealedRows().then((rows) => rows.map((row) => row.updated_at));
    });
    afterAll(() => dropScratchDatabase(databaseUrl));

    const sealedRows = () =>
      query<{
        id: number;
        access_token_encrypted: string;
        refresh_token_encrypted: string | null;
        updated_at: Date;
      }>(
        databaseUrl,
        `SELECT id, access_token_encrypted, refresh_token_encrypted, updated_at
           FROM social_accounts ORDER BY id`,
      );
    const reencrypt = (keys: Buffer[]) =>
      cliWith(
        {
          DATABASE_URL: databaseUrl,
          TOKEN_ENCRYPTION_KEYS: keys.map((key) => key.toString('hex')).join(','),
        },
        'tokens:reencrypt',
      );

    it('seals every stored token under the first key, so a process with only that key opens them', async () => {
      const exit = await reencrypt([keyB, keyA]);
      expect(exit.stderr).toBe('');
      expect(exit.code).toBe(0);
      expect(exit.stdout).toBe(
        'Re-encrypted the tokens of 3 account(s); 0 already used the first key.\n' +
          'Re-encrypted the secrets of 0 webhook endpoint(s); 0 already used the first key.\n',
      );

      const rows = await sealedRows();
      for (const row of rows) {
        expect(row.access_token_encrypted.startsWith(`v2.${TokenCipher.keyId(keyB)}.`)).toBe(true);
        if (row.refresh_token_encrypted !== null)
          expect(row.refresh_token_encrypted.startsWith(`v2.${TokenCipher.keyId(keyB)}.`)).toBe(
            true,
          );
      }
      // Nothing the owner sees changed.
      expect(rows.map((row) => row.updated_at)).toEqual(updatedAt);

      const app = await createTestApp({
        DATABASE_URL: databaseUrl,
        TOKEN_ENCRYPTION_KEYS: keyB.toString('hex'),
      });
      try {
        const accounts = app.app.get(AccountsService);
        const opened = await Promise.all(ids.map((id) => accounts.tokens(id)));
        expect(opened.map(({ accessToken, refreshToken }) => [accessToken, refreshToken])).toEqual([
          ['access-instagram', 'refresh-instagram'],
          ['access-twitter', null],
          ['access-linkedin', 'refresh-linkedin'],
        ]);
      } finally {
        await app.close();
      }
    });

    it('leaves tokens already under the first key as they are', async () => {
      const before = await sealedRows();
      const exit = await reencrypt([keyB, keyA]);
      expect(exit.code).toBe(0);
      expect(exit.stdout).toBe(
        'Re-encrypted the tokens of 0 account(s); 3 already used the first key.\n' +
          'Re-encrypted the secrets of 0 webhook endpoint(s); 0 already used the first key.\n',
      );
      expect(await sealedRows()).toEqual(before);
    });

    it('exits 1 naming the accounts no key of the ring opens, and leaves them as they were', async () => {
      const before = await sealedRows();
      const exit = await reencrypt([randomBytes(32), keyA]);
      expect(exit.code).toBe(1);
      expect(exit.stderr).toBe(
        `Error: no key of the ring opens the tokens of account(s) ${ids.join(', ')}; they were left as they were.\n`,
      );
      expectNoStackTrace(exit);
      expect(await sealedRows()).toEqual(before);
    });
  });

  it('migrate says there is nothing pending on a migrated database', async () => {
    const exit = await cli('migrate');
    expect(exit.stderr).toBe('');
    expect(exit.code).toBe(0);
    expect(exit.stdout).toBe('No pending migrations.\n');
  });

  it('prints the usage and exits 2 without a command', async () => {
    const exit = await cli();
    expect(exit.code).toBe(2);
    expect(exit.stdout).toMatch(/^Usage: npm run cli -- <command> \[options\]/);
    expect(exit.stdout).toContain('createsuperuser');
    expect(exit.stdout).toContain('migrate');
  });

  it('names an unknown command, prints the usage and exits 2', async () => {
    const exit = await cli('frobnicate');
    expect(exit.code).toBe(2);
    expect(exit.stderr).toMatch(/^Unknown command "frobnicate"\./);
    expect(exit.stderr).toContain('Usage: npm run cli -- <command>');
    expect(exit.stdout).toBe('');
  });
});
