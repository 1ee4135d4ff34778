import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Pool } from 'pg';
import { newUserFields } from '../../../../test/factories/user.factory.js';
import { useTestDatabase } from '../../../../test/support/database.js';
import { ROOT } from '../../../../test/support/spawn.js';
import { User } from '../user/user.entity.js';
import { UserQueries, type UserWithProfile } from '../user/user.queries.js';
import { TokenFamilyQueries } from './token-family.queries.js';

const HOUR = 3600_000;

describe('TokenFamilyQueries', () => {
  const { dataSource } = useTestDatabase();
  let families: TokenFamilyQueries;
  let users: UserQueries;
  beforeAll(() => {
    families = new TokenFamilyQueries(dataSource);
    users = new UserQueries(dataSource);
  });

  const newUser = (): Promise<UserWithProfile> => {
    const { username, email } = newUserFields();
    return users.insertWithProfile({
      username,
      email,
      passwordHash: 'unused',
      firstName: '',
      lastName: '',
      isStaff: false,
      isSuperuser: false,
    });
  };

  /** A sign-in of the user with one refresh token, as TokenService.startSession writes it. */
  const signIn = async (userId: number, expiresAt = new Date(Date.now() + HOUR)) => {
    const familyId = randomUUID();
    const tokenId = randomUUID();
    await dataSource.transaction(async (manager) => {
      await families.insertFamily({ id: familyId, userId, expiresAt }, manager);
      await families.insertRefreshToken({ id: tokenId, familyId, userId, expiresAt }, manager);
    });
    return { familyId, tokenId };
  };

  const familyRow = async (familyId: string) =>
    (
      (await dataSource.query(
        'SELECT expires_at, revoked_at, revoked_reason FROM token_families WHERE id = $1',
        [familyId],
      )) as { expires_at: Date; revoked_at: Date | null; revoked_reason: string | null }[]
    )[0];

  describe('rotation', () => {
    it('locks the presented token until the rotation commits: a second rotation then sees it used', async () => {
      const user = await newUser();
      const { familyId, tokenId } = await signIn(user.id);
      const extendedTo = new Date(Date.now() + 2 * HOUR);
      extendedTo.setMilliseconds(0);

      const first = dataSource.createQueryRunner();
      await first.connect();
      try {
        await first.startTransaction();
        const row = await families.lockRefreshToken(tokenId, first.manager);
        expect(row).toMatchObject({ id: tokenId, familyId, userId: user.id, usedAt: null });
        expect(row?.family).toMatchObject({ id: familyId, revokedAt: null });
        // Only the token's row is locked, not its family's.
        await expect(
          dataSource.query('SELECT id FROM token_families WHERE id = $1 FOR UPDATE NOWAIT', [
            familyId,
          ]),
        ).resolves.toHaveLength(1);

        let secondRow: Awaited<ReturnType<TokenFamilyQueries['lockRefreshToken']>> | undefined;
        const second = dataSource.transaction(async (manager) => {
          secondRow = await families.lockRefreshToken(tokenId, manager);
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(secondRow).toBeUndefined();

        await families.markRotated(tokenId, familyId, extendedTo, first.manager);
        await first.commitTransaction();
        await second;
        expect(secondRow?.usedAt).toBeInstanceOf(Date);
        // The waiting statement re-reads the locked row only; the family is as it first read it.
        expect(await familyRow(familyId)).toMatchObject({ expires_at: extendedTo });
      } finally {
        await first.release();
      }
    });

    it('a used token presented again: its family is revoked once, and the bearer check fails', async () => {
      const user = await newUser();
      const { familyId, tokenId } = await signIn(user.id);
      await families.markRotated(tokenId, familyId, new Date(Date.now() + HOUR));
      expect(await families.findAuthenticated(user.id, familyId)).not.toBeNull();

      const presentedAgain = await dataSource.transaction((manager) =>
        families.lockRefreshToken(tokenId, manager),
      );
      expect(presentedAgain?.usedAt).not.toBeNull();
      expect(await families.revokeFamily(familyId, 'reuse_detected')).toBe(1);
      expect(await families.revokeFamily(familyId, 'reuse_detected')).toBe(0);
      expect(await familyRow(familyId)).toMatchObject({ revoked_reason: 'reuse_detected' });
      expect(await families.findAuthenticated(user.id, familyId)).toBeNull();
      expect(
        await dataSource.transaction((manager) => families.lockRefreshToken(randomUUID(), manager)),
      ).toBeNull();
    });
  });

  it('revokeFamilyOfUser revokes only the user’s own family (logout)', async () => {
    const owner = await newUser();
    const other = await newUser();
    const { familyId } = await signIn(owner.id);
    expect(await families.revokeFamilyOfUser(familyId, other.id, 'logout')).toBe(0);
    expect(await families.findAuthenticated(owner.id, familyId)).not.toBeNull();
    expect(await families.revokeFamilyOfUser(familyId, owner.id, 'logout')).toBe(1);
    expect(await familyRow(familyId)).toMatchObject({ revoked_reason: 'logout' });
    expect(await families.revokeFamilyOfUser(familyId, owner.id, 'logout')).toBe(0);
  });

  it('revokeAllOfUser cuts every sign-in of the user from the bearer check, and no one else’s', async () => {
    const user = await newUser();
    const bystander = await newUser();
    const one = await signIn(user.id);
    const two = await signIn(user.id);
    const theirs = await signIn(bystander.id);
    expect(await families.revokeAllOfUser(user.id, 'password_change')).toBe(2);
    expect(await families.findAuthenticated(user.id, one.familyId)).toBeNull();
    expect(await families.findAuthenticated(user.id, two.familyId)).toBeNull();
    expect(await familyRow(one.familyId)).toMatchObject({ revoked_reason: 'password_change' });
    expect(await families.findAuthenticated(bystander.id, theirs.familyId)).not.toBeNull();
    expect(await families.revokeAllOfUser(user.id, 'password_change')).toBe(0);
  });

  it('purgeExpired deletes the families expired before the moment, with their tokens, and only those', async () => {
    // Long past, so the purge cannot reach rows of test files running alongside.
    const cutoff = new Date('2001-01-01T00:00:00.000Z');
    const user = await newUser();
    const expired = await signIn(user.id, new Date(cutoff.getTime() - HOUR));
    const live = await signIn(user.id, new Date(cutoff.getTime() + HOUR));
    expect(await families.purgeExpired(cutoff)).toBeGreaterThanOrEqual(1);
    expect(await familyRow(expired.familyId)).toBeUndefined();
    expect(
      await dataSource.query('SELECT 1 FROM refresh_tokens WHERE id = $1', [expired.tokenId]),
    ).toHaveLength(0);
    expect(await familyRow(live.familyId)).toBeDefined();
  });

  describe('findAuthenticated (the bearer check)', () => {
    it('is one round trip, the statement the benchmark’s bare server sends', async () => {
      const user = await newUser();
      const { familyId } = await signIn(user.id);
      const bench = await readFile(path.join(ROOT, 'bench/lib/bare-auth.mjs'), 'utf8');
      const benchSql = /export const FIND_AUTHENTICATED = `([^`]*)`/.exec(bench)?.[1];
      // Sent on pg's pool itself (TypeORM's query() costs a QueryRunner per call).
      const pool = (dataSource.driver as unknown as { master: Pool }).master;
      const query = jest.spyOn(pool, 'query');
      try {
        await families.findAuthenticated(user.id, familyId);
        await families.findAuthenticated(user.id, familyId);
        expect(query).toHaveBeenCalledTimes(2);
        expect(query.mock.calls[0]).toEqual([benchSql, [familyId, user.id]]);
      } finally {
        query.mockRestore();
      }
    });

    it('maps the user and profile as TypeORM loads them', async () => {
      const user = await newUser();
      await users.updateProfile(user.id, { bio: 'Hi', autoValidateImages: true }, new Date());
      const { familyId } = await signIn(user.id);
      const found = await families.findAuthenticated(user.id, familyId);
      const loaded = await users.withProfile(user.id);
      expect(found).toBeInstanceOf(User);
      // And the image list's version: 0 for a user who never had an image.
      expect({ ...found, profile: { ...found!.profile } }).toEqual({
        ...loaded,
        profile: { ...loaded.profile },
        imagesVersion: '0',
      });
    });

    it('finds nobody for another user’s family or an inactive user', async () => {
      const one = await newUser();
      const two = await newUser();
      const { familyId } = await signIn(two.id);
      expect(await families.findAuthenticated(one.id, familyId)).toBeNull();
      await dataSource.query('UPDATE users SET is_active = false WHERE id = $1', [two.id]);
      expect(await families.findAuthenticated(two.id, familyId)).toBeNull();
    });
  });
});
