import { beforeAll, describe, expect, it } from '@jest/globals';
import { EntityNotFoundError, QueryFailedError } from 'typeorm';
import { insertAccount, insertSchedule } from '../../../../test/factories/schedule-rows.factory.js';
import { useTestDatabase } from '../../../../test/support/database.js';
import { PostingSchedule } from '../posting-schedule/posting-schedule.entity.js';
import { type AccountStatus, SocialAccount } from './social-account.entity.js';
import {
  type AccountCandidate,
  type AccountChoice,
  chooseAccount,
  SocialAccountQueries,
} from './social-account.queries.js';

const active = (id: number): AccountCandidate => ({ id, status: 'active', platform: 'twitter' });
const withStatus = (id: number, status: AccountStatus): AccountCandidate => ({
  id,
  status,
  platform: 'twitter',
});

describe('chooseAccount', () => {
  it.each<[string, AccountCandidate[], number[], AccountChoice]>([
    ['the chosen one, among active ones', [active(1), active(2)], [2], { id: 2 }],
    [
      'the only active one when none is chosen',
      [active(1), withStatus(3, 'disabled')],
      [],
      { id: 1 },
    ],
    ['none without accounts', [], [], { problem: 'none' }],
    ['none when no account is active', [withStatus(3, 'disabled')], [], { problem: 'none' }],
    ['several active ones when none is chosen', [active(1), active(2)], [], { problem: 'several' }],
    ['several chosen ones', [active(1), active(2)], [1, 2], { problem: 'several' }],
    [
      'a chosen inactive one, with its status',
      [active(1), withStatus(3, 'reconnect_required')],
      [3],
      { problem: 'inactive', status: 'reconnect_required' },
    ],
    [
      'the active one when the chosen id is not among these (another platform’s)',
      [active(1)],
      [9],
      { id: 1 },
    ],
  ])('gives %s', (_, accounts, chosen, choice) => {
    expect(chooseAccount(accounts, chosen)).toEqual(choice);
  });
});

describe('SocialAccountQueries', () => {
  const { dataSource, newUser } = useTestDatabase();
  let accounts: SocialAccountQueries;
  beforeAll(() => {
    accounts = new SocialAccountQueries(dataSource);
  });

  const setStatus = (id: number, status: AccountStatus) =>
    dataSource.getRepository(SocialAccount).update({ id }, { status });
  const exists = (id: number) => dataSource.getRepository(SocialAccount).existsBy({ id });

  it("gives the user's accounts on a platform, by id, as choice candidates", async () => {
    const owner = await newUser();
    const other = await newUser();
    const older = await insertAccount(dataSource, owner, 'twitter');
    const newer = await insertAccount(dataSource, owner, 'twitter');
    await insertAccount(dataSource, owner, 'instagram');
    await insertAccount(dataSource, other, 'twitter');
    // Updated, the older row moves behind the newer one in the table and in the unique index on
    // the platform's id: only the order by id puts it first.
    await dataSource
      .getRepository(SocialAccount)
      .update({ id: older.id }, { status: 'disabled', accountId: 'zz-older' });
    await dataSource
      .getRepository(SocialAccount)
      .update({ id: newer.id }, { accountId: 'aa-newer' });

    expect(await accounts.onPlatform(owner, 'twitter')).toEqual([
      { id: older.id, status: 'disabled', platform: 'twitter' },
      { id: newer.id, status: 'active', platform: 'twitter' },
    ]);
    expect(await accounts.onPlatform(owner, 'linkedin')).toEqual([]);
  });

  it('tells which of some ids are the user’s, with their platform', async () => {
    const owner = await newUser();
    const other = await newUser();
    const twitter = await insertAccount(dataSource, owner, 'twitter');
    const instagram = await insertAccount(dataSource, owner, 'instagram');
    const foreign = await insertAccount(dataSource, other, 'twitter');
    const owned = await accounts.ownedAmong(owner, [
      instagram.id,
      twitter.id,
      foreign.id,
      foreign.id + 1_000_000,
    ]);
    expect(owned.sort((a, b) => a.id - b.id)).toEqual(
      [
        { id: twitter.id, platform: 'twitter' },
        { id: instagram.id, platform: 'instagram' },
      ].sort((a, b) => a.id - b.id),
    );
    expect(await accounts.ownedAmong(owner, [])).toEqual([]);
  });

  it('pages the user’s accounts by platform, then id', async () => {
    const owner = await newUser();
    const twitter = await insertAccount(dataSource, owner, 'twitter');
    const facebook = await insertAccount(dataSource, owner, 'facebook');
    const instagram = await insertAccount(dataSource, owner, 'instagram');
    const facebook2 = await insertAccount(dataSource, owner, 'facebook');
    await insertAccount(dataSource, await newUser(), 'facebook');
    const page = await accounts.pageOfUser(owner, { offset: 1, pageSize: 2 });
    expect(page.count).toBe(4);
    expect(page.rows.map((row) => row.id)).toEqual([facebook2.id, instagram.id]);
    const all = await accounts.pageOfUser(owner, { offset: 0, pageSize: 10 });
    expect(all.rows.map((row) => row.id)).toEqual([
      facebook.id,
      facebook2.id,
      instagram.id,
      twitter.id,
    ]);
  });

  it('finds and locks an account for its owner only, tokens unselected, the lock holding', async () => {
    const owner = await newUser();
    const other = await newUser();
    const account = await insertAccount(dataSource, owner, 'twitter');
    const found = await accounts.findOwned(owner, account.id);
    expect(found).toMatchObject({ id: account.id, userId: owner, hasRefreshToken: false });
    expect(found).not.toHaveProperty('accessTokenEncrypted');
    expect(found).not.toHaveProperty('refreshTokenEncrypted');
    expect(await accounts.findOwned(other, account.id)).toBeNull();

    await dataSource.transaction(async (manager) => {
      expect(await accounts.lockOwned(other, account.id, manager)).toBe(false);
      expect(await accounts.lockOwned(owner, account.id, manager)).toBe(true);
      const error = await dataSource
        .transaction(async (second) => {
          await second.query(`SET LOCAL lock_timeout = '200ms'`);
          return accounts.lockOwned(owner, account.id, second);
        })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(QueryFailedError);
      expect(((error as QueryFailedError).driverError as unknown as { code: string }).code).toBe(
        '55P03',
      );
    });
    expect(
      await dataSource.transaction((manager) => accounts.lockOwned(owner, account.id, manager)),
    ).toBe(true);
  });

  it('inserts an account with empty tokens, refusing a duplicate with a unique violation', async () => {
    const owner = await newUser();
    const fields = {
      userId: owner,
      platform: 'linkedin' as const,
      accountId: `urn:li:${owner}`,
      displayName: 'Harbour Co',
      expiresAt: new Date('2090-01-01T00:00:00Z'),
    };
    const id = await dataSource.transaction((manager) => accounts.insert(fields, manager));
    expect(await accounts.withSealedTokens(id)).toMatchObject({
      ...fields,
      id,
      status: 'active',
      accessTokenEncrypted: '',
      refreshTokenEncrypted: null,
    });

    const error = await dataSource
      .transaction((manager) => accounts.insert({ ...fields, displayName: 'Twin' }, manager))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QueryFailedError);
    expect(((error as QueryFailedError).driverError as unknown as { code: string }).code).toBe(
      '23505',
    );
    // The same platform id on another platform, or of another user, is another account.
    await dataSource.transaction((manager) =>
      accounts.insert({ ...fields, platform: 'facebook' }, manager),
    );
    const stranger = await newUser();
    await dataSource.transaction((manager) =>
      accounts.insert({ ...fields, userId: stranger }, manager),
    );
  });

  it('changes the user’s account (sealed tokens included), not another’s', async () => {
    const owner = await newUser();
    const other = await newUser();
    const account = await insertAccount(dataSource, owner, 'twitter');
    const changes = {
      displayName: 'Renamed',
      status: 'reconnect_required' as const,
      accessTokenEncrypted: 'sealed-access',
      refreshTokenEncrypted: 'sealed-refresh',
      expiresAt: new Date('2090-02-01T00:00:00Z'),
    };
    await dataSource.transaction((manager) =>
      accounts.change(other, account.id, { displayName: 'Hijacked' }, manager),
    );
    expect((await accounts.withSealedTokens(account.id)).displayName).toBe('');
    await dataSource.transaction((manager) => accounts.change(owner, account.id, changes, manager));
    const changed = await accounts.withSealedTokens(account.id);
    expect(changed).toMatchObject(changes);
    expect(changed.updatedAt.getTime()).toBeGreaterThan(account.updatedAt.getTime());
  });

  it('disconnects the user’s account, forgotten by their schedules only', async () => {
    const owner = await newUser();
    const other = await newUser();
    const [gone, kept] = [
      await insertAccount(dataSource, owner, 'twitter'),
      await insertAccount(dataSource, owner, 'instagram'),
    ];
    const both = await insertSchedule(dataSource, owner, {
      platforms: ['twitter', 'instagram'],
      accountIds: [gone.id, kept.id],
    });
    const onlyKept = await insertSchedule(dataSource, owner, { accountIds: [kept.id] });
    const foreign = await insertSchedule(dataSource, other, { accountIds: [gone.id] });
    const accountIdsOf = async (id: number) =>
      (await dataSource.getRepository(PostingSchedule).findOneByOrFail({ id })).accountIds;

    expect(await dataSource.transaction((m) => accounts.disconnect(other, gone.id, m))).toBe(false);
    expect(await exists(gone.id)).toBe(true);
    expect(await accountIdsOf(foreign.id)).toEqual([gone.id]);

    expect(await dataSource.transaction((m) => accounts.disconnect(owner, gone.id, m))).toBe(true);
    expect(await exists(gone.id)).toBe(false);
    expect(await exists(kept.id)).toBe(true);
    expect(await accountIdsOf(both.id)).toEqual([kept.id]);
    expect(await accountIdsOf(onlyKept.id)).toEqual([kept.id]);
    expect(await accountIdsOf(foreign.id)).toEqual([gone.id]);
    expect(await dataSource.transaction((m) => accounts.disconnect(owner, gone.id, m))).toBe(false);
  });

  it('gives the sealed tokens to the workers, and fails for a missing account', async () => {
    const owner = await newUser();
    const account = await insertAccount(dataSource, owner, 'tiktok');
    expect(await accounts.withSealedTokens(account.id)).toMatchObject({
      id: account.id,
      accessTokenEncrypted: 'unused',
      refreshTokenEncrypted: null,
    });
    await expect(accounts.withSealedTokens(account.id + 1_000_000)).rejects.toBeInstanceOf(
      EntityNotFoundError,
    );
  });

  it('marks an account for reconnection, and counts every user’s accounts by status', async () => {
    const owner = await newUser();
    const [first, second, third] = [
      await insertAccount(dataSource, owner, 'twitter'),
      await insertAccount(dataSource, owner, 'facebook'),
      await insertAccount(dataSource, owner, 'instagram'),
    ];
    await setStatus(third.id, 'disabled');
    expect(await accounts.markReconnectRequired(second.id)).toBe(true);
    // Marked already: no change, so nothing for an event to report.
    expect(await accounts.markReconnectRequired(second.id)).toBe(false);
    const statusOf = async (id: number) => (await accounts.findOwned(owner, id))?.status;
    expect(await statusOf(first.id)).toBe('active');
    expect(await statusOf(second.id)).toBe('reconnect_required');

    const counts = await accounts.countByStatus();
    expect(Object.keys(counts)).toEqual(Object.keys(counts).sort());
    expect(counts.active).toBeGreaterThanOrEqual(1);
    expect(counts.reconnect_required).toBeGreaterThanOrEqual(1);
    expect(counts.disabled).toBeGreaterThanOrEqual(1);
  });
});
