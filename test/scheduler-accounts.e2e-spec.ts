import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccountsService } from '../apps/server/src/scheduler/accounts.service.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import { createTestApp, type TestApp } from './support/test-app.js';

const ACCOUNT_KEYS = [
  'account_id',
  'created_at',
  'display_name',
  'expires_at',
  'has_refresh_token',
  'id',
  'platform',
  'status',
  'updated_at',
];

describe('/api/scheduler/accounts/', () => {
  let app: TestApp;
  let user: RegisteredUser;
  beforeAll(async () => {
    app = await createTestApp();
    user = await registerUser(app);
  });
  afterAll(() => app.close());

  const create = (owner: RegisteredUser, body: object) =>
    app.http().post('/api/scheduler/accounts/').set(bearer(owner.access)).send(body);
  const instagram = (overrides: object = {}) => ({
    platform: 'instagram',
    account_id: `1784${Date.now()}${Math.floor(Math.random() * 1000)}`,
    display_name: 'My shop',
    access_token: 'EAAG-very-secret-access',
    refresh_token: 'very-secret-refresh',
    expires_at: '2027-01-28T00:00:00Z',
    ...overrides,
  });

  it('connects an account, stores its tokens encrypted and never returns them', async () => {
    const body = instagram();
    const response = await create(user, body).expect(201);
    expect(Object.keys(response.body).sort()).toEqual(ACCOUNT_KEYS);
    expect(response.body).toMatchObject({
      platform: 'instagram',
      account_id: body.account_id,
      display_name: 'My shop',
      status: 'active',
      has_refresh_token: true,
      expires_at: '2027-01-28T00:00:00.000Z',
    });
    const id = response.body.id;
    for (const url of [`/api/scheduler/accounts/${id}/`, '/api/scheduler/accounts/']) {
      const text = (await app.http().get(url).set(bearer(user.access)).expect(200)).text;
      expect(text).not.toMatch(/very-secret/);
    }
    const [row] = await app.dataSource.query(
      'SELECT access_token_encrypted, refresh_token_encrypted FROM social_accounts WHERE id = $1',
      [id],
    );
    expect(row.access_token_encrypted).not.toContain('very-secret');
    // Versioned, naming the key that sealed it (the first 4 bytes of its SHA-256).
    expect(row.access_token_encrypted).toMatch(/^v2\.[0-9a-f]{8}\./);
    // The worker, and only it, can open them.
    expect(await app.app.get(AccountsService).tokens(id)).toEqual({
      platformAccountId: body.account_id,
      accessToken: 'EAAG-very-secret-access',
      refreshToken: 'very-secret-refresh',
    });
  });

  it('binds each sealed token to its row: copied to another account, it does not open', async () => {
    const first = (await create(user, instagram()).expect(201)).body.id;
    const second = (await create(user, instagram({ access_token: 'other-token' })).expect(201)).body
      .id;
    await app.dataSource.query(
      'UPDATE social_accounts SET access_token_encrypted = (SELECT access_token_encrypted FROM social_accounts WHERE id = $1) WHERE id = $2',
      [first, second],
    );
    await expect(app.app.get(AccountsService).tokens(second)).rejects.toThrow();
  });

  it('refuses the same account twice, and bad input naming the field', async () => {
    const body = instagram();
    await create(user, body).expect(201);
    expectFieldError(await create(user, body), 'account_id');
    expectFieldError(await create(user, instagram({ platform: 'myspace' })), 'platform');
    expectFieldError(await create(user, instagram({ access_token: '' })), 'access_token');
    expectFieldError(await create(user, instagram({ access_token: undefined })), 'access_token');
    expectFieldError(
      await create(user, instagram({ display_name: 'x'.repeat(101) })),
      'display_name',
    );
    expectFieldError(await create(user, instagram({ expires_at: 'tomorrow' })), 'expires_at');
    expectFieldError(await create(user, instagram({ account_id: 42 })), 'account_id');
    expectFieldError(await create(user, instagram({ token: 'unknown field' })), 'token');
    // The same platform account for another user is theirs to connect.
    const other = await registerUser(app);
    await create(other, body).expect(201);
  });

  it('updates: rename, reconnect with new tokens (active again), disable', async () => {
    const id = (await create(user, instagram()).expect(201)).body.id;
    await app.dataSource.query(
      `UPDATE social_accounts SET status = 'reconnect_required' WHERE id = $1`,
      [id],
    );
    const patch = (body: object) =>
      app.http().patch(`/api/scheduler/accounts/${id}/`).set(bearer(user.access)).send(body);
    expect((await patch({ display_name: 'Renamed' }).expect(200)).body).toMatchObject({
      display_name: 'Renamed',
      status: 'reconnect_required',
    });
    expect((await patch({ access_token: 'fresh-token' }).expect(200)).body.status).toBe('active');
    expect((await app.app.get(AccountsService).tokens(id)).accessToken).toBe('fresh-token');
    expect((await patch({ status: 'disabled' }).expect(200)).body.status).toBe('disabled');
    expectFieldError(await patch({ status: 'reconnect_required' }), 'status');
    expectFieldError(await patch({ platform: 'facebook' }), 'platform');
    expectFieldError(await patch({ access_token: null }), 'access_token');
  });

  it("answers 404 for another user's account on every verb, and changes nothing", async () => {
    const id = (await create(user, instagram()).expect(201)).body.id;
    const stranger = await registerUser(app);
    expectProblem(
      await app.http().get(`/api/scheduler/accounts/${id}/`).set(bearer(stranger.access)),
      404,
    );
    expectProblem(
      await app
        .http()
        .patch(`/api/scheduler/accounts/${id}/`)
        .set(bearer(stranger.access))
        .send({ display_name: 'Mine now' }),
      404,
    );
    expectProblem(
      await app.http().delete(`/api/scheduler/accounts/${id}/`).set(bearer(stranger.access)),
      404,
    );
    const listed = await app
      .http()
      .get('/api/scheduler/accounts/')
      .set(bearer(stranger.access))
      .expect(200);
    expect(listed.body.results.map((account: { id: number }) => account.id)).not.toContain(id);
    const mine = await app
      .http()
      .get(`/api/scheduler/accounts/${id}/`)
      .set(bearer(user.access))
      .expect(200);
    expect(mine.body.display_name).toBe('My shop');
    expectProblem(
      await app.http().get('/api/scheduler/accounts/abc/').set(bearer(user.access)),
      404,
    );
  });

  it('disconnects with 204 and lists a page like DRF', async () => {
    const owner = await registerUser(app);
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create(owner, instagram()).expect(201)).body.id);
    await app
      .http()
      .delete(`/api/scheduler/accounts/${ids[0]}/`)
      .set(bearer(owner.access))
      .expect(204);
    const page = await app
      .http()
      .get('/api/scheduler/accounts/?page_size=1')
      .set(bearer(owner.access))
      .expect(200);
    expect(page.body.count).toBe(2);
    expect(page.body.next).toBe(
      `${app.config.publicBaseUrl}/api/scheduler/accounts/?page_size=1&page=2`,
    );
    expect(page.body.results[0].id).toBe(ids[1]);
    expectProblem(
      await app.http().get(`/api/scheduler/accounts/${ids[0]}/`).set(bearer(owner.access)),
      404,
    );
    await app.http().get('/api/scheduler/accounts/').expect(401);
  });
});
