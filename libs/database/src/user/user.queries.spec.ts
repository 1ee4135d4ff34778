import { beforeAll, describe, expect, it } from '@jest/globals';
import { QueryFailedError } from 'typeorm';
import { newUserFields } from '../../../../test/factories/user.factory.js';
import { useTestDatabase } from '../../../../test/support/database.js';
import { User } from './user.entity.js';
import { type NewUserRow, UserQueries } from './user.queries.js';

describe('UserQueries', () => {
  const { dataSource } = useTestDatabase();
  let users: UserQueries;
  beforeAll(() => {
    users = new UserQueries(dataSource);
  });

  const row = (overrides: Partial<NewUserRow> = {}): NewUserRow => {
    const { username, email } = newUserFields();
    return {
      username,
      email,
      passwordHash: `hash-of-${username}`,
      firstName: '',
      lastName: '',
      isStaff: false,
      isSuperuser: false,
      ...overrides,
    };
  };

  describe('insertWithProfile', () => {
    it('creates the user and their profile, with the defaults the API presents', async () => {
      const created = await dataSource.transaction((manager) =>
        users.insertWithProfile(row({ firstName: 'Zoé', isStaff: true }), manager),
      );
      expect(created).toBeInstanceOf(User);
      expect(created.profile.userId).toBe(created.id);
      const loaded = await users.withProfile(created.id);
      expect(loaded).toMatchObject({ firstName: 'Zoé', isStaff: true, isActive: true });
      expect(loaded.profile).toMatchObject({ userId: created.id, bio: '', avatar: null });
      expect(loaded).not.toHaveProperty('password');
    });

    it('fails a case-insensitive twin with a unique violation naming the column, leaving nothing', async () => {
      const first = row();
      await users.insertWithProfile(first);
      const twin = row({ username: first.username.toUpperCase() });
      const error = await dataSource
        .transaction((manager) => users.insertWithProfile(twin, manager))
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(QueryFailedError);
      const driverError = (error as QueryFailedError).driverError as unknown as {
        code: string;
        constraint: string;
      };
      expect(driverError.code).toBe('23505');
      expect(driverError.constraint).toContain('username');
      expect(await users.emailTaken(twin.email)).toBe(false);
    });
  });

  describe('findForSignIn', () => {
    it('finds by username or email whatever the case, with the password hash', async () => {
      const user = await users.insertWithProfile(row());
      for (const login of [user.username.toUpperCase(), user.email.toUpperCase()]) {
        const found = await users.findForSignIn(login);
        expect(found?.id).toBe(user.id);
        expect(found?.password).toBe(`hash-of-${user.username}`);
      }
      expect(await users.findForSignIn(`${user.username}_nobody`)).toBeNull();
    });

    it('prefers the account whose username it is over one whose email it is', async () => {
      const byEmail = await users.insertWithProfile(row());
      const byUsername = await users.insertWithProfile(row({ username: byEmail.email }));
      const found = await users.findForSignIn(byEmail.email.toUpperCase());
      expect(found?.id).toBe(byUsername.id);
    });
  });

  it('usernameTaken and emailTaken ignore case; emailTaken can leave out the user themself', async () => {
    const user = await users.insertWithProfile(row());
    expect(await users.usernameTaken(user.username.toUpperCase())).toBe(true);
    expect(await users.usernameTaken(`${user.username}x`)).toBe(false);
    expect(await users.emailTaken(user.email.toUpperCase())).toBe(true);
    expect(await users.emailTaken(user.email, user.id)).toBe(false);
    expect(await users.emailTaken(user.email, user.id + 1)).toBe(true);
  });

  it('lockForPasswordChange holds the row until the transaction ends; setPassword stamps the change', async () => {
    const user = await users.insertWithProfile(row());
    const changedAt = new Date('2026-01-02T03:04:05.000Z');
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      const locked = await users.lockForPasswordChange(user.id, runner.manager);
      expect(locked.password).toBe(`hash-of-${user.username}`);
      await expect(
        dataSource.query('SELECT id FROM users WHERE id = $1 FOR UPDATE NOWAIT', [user.id]),
      ).rejects.toMatchObject({ driverError: { code: '55P03' } });
      await users.setPassword(user.id, 'new-hash', changedAt, runner.manager);
      await runner.commitTransaction();
    } finally {
      await runner.release();
    }
    expect((await users.findForSignIn(user.username))?.password).toBe('new-hash');
    expect((await users.findById(user.id))?.passwordChangedAt).toEqual(changedAt);
    await expect(users.lockForPasswordChange(-1, dataSource.manager)).rejects.toThrow();
  });

  it('findById reads the row for the staff wall: flags, no password; null when gone', async () => {
    const user = await users.insertWithProfile(row({ isStaff: true, isSuperuser: true }));
    const found = await users.findById(user.id);
    expect(found).toMatchObject({ id: user.id, isActive: true, isStaff: true, isSuperuser: true });
    expect(found).not.toHaveProperty('password');
    await dataSource.query('DELETE FROM users WHERE id = $1', [user.id]);
    expect(await users.findById(user.id)).toBeNull();
  });

  it('recordSignIn, updateDetails and updateProfile change only the given fields', async () => {
    const user = await users.insertWithProfile(row({ firstName: 'Ann', lastName: 'Lee' }));
    const at = new Date('2026-03-04T05:06:07.000Z');
    await users.recordSignIn(user.id, at);
    await users.updateDetails(user.id, { lastName: 'Kim' });
    await users.updateProfile(user.id, { bio: 'Hi', timezone: 'Europe/Paris' }, at);
    const loaded = await users.withProfile(user.id);
    expect(loaded).toMatchObject({ firstName: 'Ann', lastName: 'Kim', lastLogin: at });
    expect(loaded.profile).toMatchObject({ bio: 'Hi', timezone: 'Europe/Paris', updatedAt: at });
    expect(loaded.profile.phoneNumber).toBe('');
  });
});
