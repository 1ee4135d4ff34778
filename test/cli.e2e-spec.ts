import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import argon2 from 'argon2';
import { newUserFields, STRONG_PASSWORD } from './factories/user.factory.js';
import { query } from './support/scratch-database.js';
import { ENTRY, type Exit, killAll, run } from './support/spawn.js';
import { TEST_DATABASE_URL, testEnv } from './support/test-env.js';

/** The built CLI (`npm run cli -- ...`) as a real process, without a terminal. */
function cli(...args: string[]): Promise<Exit> {
  return run(ENTRY.cli, args, testEnv());
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
