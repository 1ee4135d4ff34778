import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getQueueToken } from '@nestjs/bull';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Queue } from 'bull';
import { ENTITIES } from '@app/database';
import { insertImages } from './factories/image.factory.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import {
  adminAgent,
  type AdminAgent,
  connectAccount,
  freshIp,
  postAdminLogin,
  reduxState,
  schedulePostIn1h,
  signedInAgent,
  staffUser,
} from './support/admin.js';
import { expectProblem } from './support/problem.js';
import { dropScratchDatabase, migratedScratchDatabase } from './support/scratch-database.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';

/**
 * The administration panel over HTTP, as a browser (or a script with a cookie) would use it. The
 * app runs on a database of this file's own, so the dashboard's all-users figures can be checked
 * exactly against the rows.
 */
const LOGIN_MAX_FAILURES = 3;

let database: string;
beforeAll(async () => {
  database = await migratedScratchDatabase('ia_admin_http');
}, 60_000);
afterAll(() => dropScratchDatabase(database));

const appEnv = () => ({
  DATABASE_URL: database,
  TRUST_PROXY: '1',
  LOGIN_MAX_FAILURES: String(LOGIN_MAX_FAILURES),
});

/** AdminJS answers a refused action with 200 and the error in the record (and no data). */
function expectForbidden(response: { status: number; body: Record<string, unknown> }) {
  expect(response.status).toBe(200);
  expect(response.body.record).toMatchObject({
    params: {},
    baseError: { type: 'ForbiddenError' },
  });
}

async function sessionRows(app: TestApp): Promise<{ sid: string; user_id: number | null }[]> {
  return app.dataSource.query(
    `SELECT sid, (sess->'adminUser'->>'id')::int AS user_id FROM admin_sessions`,
  );
}

describe('administration: started by the first request to /admin', () => {
  let app: TestApp;
  beforeAll(async () => {
    // As main.ts leaves it at listen: the panel not started yet.
    app = await createTestApp(appEnv(), { startDeferred: false });
  }, 60_000);
  afterAll(() => app.close());

  it('answers 503 problem+json with Retry-After while it starts, the API meanwhile, then the panel', async () => {
    const starting = await app.http().get('/admin/login').expect(503);
    expectProblem(starting, 503);
    expect(starting.body).toMatchObject({ code: 'service_unavailable', instance: '/admin/login' });
    expect(starting.headers['retry-after']).toBe('2');
    // A browser reloads the page by itself.
    expect(starting.headers.refresh).toBe('2');
    // The API does not wait for the panel.
    await app.http().get('/api/health').expect(200);

    // That request started the panel.
    const page = await waitFor(
      async () => {
        const response = await app.http().get('/admin/login');
        return response.status === 503 ? undefined : response;
      },
      30_000,
      'the admin panel',
    );
    expect(page.status).toBe(200);
    expect(page.text).toContain('Username or email');
    await app.http().get('/admin/queues').expect(302).expect('Location', '/admin/login');
  }, 60_000);
});

describe('administration: sign-in and access', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp(appEnv());
  }, 60_000);
  afterAll(() => app.close());

  it('sends visitors without a session to the sign-in page, the queue board included', async () => {
    for (const path of [
      '/admin',
      '/admin/resources/User',
      '/admin/api/resources/User/actions/list',
      '/admin/api/dashboard',
      '/admin/queues',
      '/admin/queues/api/queues',
    ]) {
      const response = await app.http().get(path).expect(302);
      expect(response.headers.location).toBe('/admin/login');
      // An anonymous visit writes no session.
      expect(response.headers['set-cookie']).toBeUndefined();
    }
    const login = await app.http().get('/admin/login').expect(200);
    expect(login.headers['content-type']).toMatch(/^text\/html/);
    expect(login.text).toContain('Username or email');
    expect(login.text).toContain('"action":"/admin/login"');
  });

  it('refuses a wrong password and an unknown user with 401 and no session', async () => {
    const staff = await staffUser(app);
    const agent = adminAgent(app);
    const wrong = await postAdminLogin(agent, staff.username, 'Not-The-Password-1').expect(401);
    expect(wrong.text).toContain('Wrong username or password, or not a staff account.');
    expect(wrong.headers['set-cookie']).toBeUndefined();
    await postAdminLogin(agent, 'nobody_at_all', 'Not-The-Password-1').expect(401);
    await agent.get('/admin').expect(302).expect('Location', '/admin/login');
  });

  it('refuses users without is_staff, and inactive staff, even with the right password', async () => {
    const user = await registerUser(app);
    await postAdminLogin(app.http(), user.username, user.password).expect(401);
    const inactive = await staffUser(app);
    await app.dataSource.query('UPDATE users SET is_active = false WHERE id = $1', [inactive.id]);
    await postAdminLogin(app.http(), inactive.username, inactive.password).expect(401);
    // Refusing them wrote no session.
    const sessions = await sessionRows(app);
    expect(sessions.map((row) => row.user_id)).not.toContain(user.id);
    expect(sessions.map((row) => row.user_id)).not.toContain(inactive.id);
  });

  it('signs staff in by username or email: a session row in PostgreSQL and a hardened cookie', async () => {
    const staff = await staffUser(app);
    const agent = adminAgent(app);
    const response = await postAdminLogin(agent, staff.username.toUpperCase(), staff.password)
      .expect(302)
      .expect('Location', '/admin');
    const [cookie] = response.headers['set-cookie'] as unknown as string[];
    expect(cookie).toMatch(/^ia_admin=/);
    expect(cookie).toMatch(/; Path=\/admin(;|$)/);
    expect(cookie).toMatch(/; HttpOnly(;|$)/);
    expect(cookie).toMatch(/; SameSite=Lax(;|$)/);
    expect(cookie).not.toMatch(/; Secure/); // outside production, over plain HTTP
    expect((await sessionRows(app)).filter((row) => row.user_id === staff.id)).toHaveLength(1);

    const home = await agent.get('/admin').expect(200);
    expect(reduxState(home.text).session?.email).toBe(staff.username);
    const [{ last_login }] = await app.dataSource.query(
      'SELECT last_login FROM users WHERE id = $1',
      [staff.id],
    );
    expect(last_login).not.toBeNull();

    await postAdminLogin(adminAgent(app), staff.email, staff.password)
      .expect(302)
      .expect('Location', '/admin');
  });

  it('issues a new session id at each sign-in and forgets the previous one', async () => {
    const staff = await staffUser(app);
    const agent = await signedInAgent(app, staff);
    const before = (await sessionRows(app)).filter((row) => row.user_id === staff.id);
    await postAdminLogin(agent, staff.username, staff.password).expect(302);
    const after = (await sessionRows(app)).filter((row) => row.user_id === staff.id);
    expect(after).toHaveLength(1);
    expect(after[0].sid).not.toBe(before[0].sid);
    await agent.get('/admin').expect(200);
  });

  it('shows the queue board to staff, over the app’s Bull queues', async () => {
    const agent = await signedInAgent(app, await staffUser(app));
    const board = await agent.get('/admin/queues').expect(200);
    expect(board.headers['content-type']).toMatch(/^text\/html/);
    const { body } = await agent.get('/admin/queues/api/queues').expect(200);
    const names = (body.queues as { name: string }[]).map((queue) => queue.name).sort();
    expect(names).toEqual([
      'analytics',
      'events',
      'exports',
      'images',
      'mail',
      'maintenance',
      'posts',
      'webhooks',
    ]);
  });

  it('lets superusers, not staff, change the queues from the board', async () => {
    const queue = app.app.get<Queue>(getQueueToken('analytics'), { strict: false });
    const job = await queue.add('board-check', { from: 'test' }, { delay: 3_600_000 });
    const staff = await signedInAgent(app, await staffUser(app));
    const superuser = await signedInAgent(app, await staffUser(app, { superuser: true }));
    try {
      // Staff see the queues and their jobs, read-only.
      const { body } = await staff.get('/admin/queues/api/queues').expect(200);
      const analytics = (body.queues as { name: string; readOnlyMode: boolean }[]).find(
        (entry) => entry.name === 'analytics',
      );
      expect(analytics?.readOnlyMode).toBe(true);
      const seen = await staff.get(`/admin/queues/api/queues/analytics/${job.id}`).expect(200);
      expect(seen.body.job).toMatchObject({ id: String(job.id), name: 'board-check' });
      // Their changes are refused, and nothing changes.
      await staff.put('/admin/queues/api/queues/analytics/promote').expect(405);
      await staff.put(`/admin/queues/api/queues/analytics/${job.id}/clean`).expect(405);
      await staff.put('/admin/queues/api/queues/analytics/clean/delayed').expect(405);
      expect(await (await queue.getJob(job.id))?.getState()).toBe('delayed');

      // A superuser's board can.
      const own = await superuser.get('/admin/queues/api/queues').expect(200);
      expect(
        (own.body.queues as { name: string; readOnlyMode: boolean }[]).every(
          (entry) => !entry.readOnlyMode,
        ),
      ).toBe(true);
      await superuser.put('/admin/queues/api/queues/analytics/promote').expect(200);
      expect(await (await queue.getJob(job.id))?.getState()).toBe('waiting');
    } finally {
      await (await queue.getJob(job.id))?.remove();
    }
  });

  it('ends the session on sign-out', async () => {
    const staff = await staffUser(app);
    const agent = await signedInAgent(app, staff);
    const out = await agent.get('/admin/logout').expect(302).expect('Location', '/admin/login');
    expect(String(out.headers['set-cookie'])).toMatch(/ia_admin=;/);
    expect((await sessionRows(app)).filter((row) => row.user_id === staff.id)).toHaveLength(0);
    await agent.get('/admin').expect(302).expect('Location', '/admin/login');
  });

  it('drops a staff member demoted or deactivated while signed in, at the next request', async () => {
    const demoted = await staffUser(app);
    const agent = await signedInAgent(app, demoted);
    await agent.get('/admin').expect(200);
    await app.dataSource.query('UPDATE users SET is_staff = false WHERE id = $1', [demoted.id]);
    await agent.get('/admin/queues').expect(302).expect('Location', '/admin/login');
    expect((await sessionRows(app)).filter((row) => row.user_id === demoted.id)).toHaveLength(0);

    const deactivated = await staffUser(app);
    const other = await signedInAgent(app, deactivated);
    await app.dataSource.query('UPDATE users SET is_active = false WHERE id = $1', [
      deactivated.id,
    ]);
    await other.get('/admin').expect(302).expect('Location', '/admin/login');
  });

  it('ends the admin sessions of a staff member whose password changed, at the next request', async () => {
    const staff = await staffUser(app);
    const agent = await signedInAgent(app, staff);
    await agent.get('/admin').expect(200);
    const newPassword = 'Amber-Harbour-Lantern-58';
    await app
      .http()
      .post('/api/auth/change-password/')
      .set(bearer(staff.access))
      .send({ old_password: staff.password, new_password: newPassword, new_password2: newPassword })
      .expect(200);
    await agent.get('/admin').expect(302).expect('Location', '/admin/login');
    expect((await sessionRows(app)).filter((row) => row.user_id === staff.id)).toHaveLength(0);
    // A sign-in with the new password holds.
    const again = await signedInAgent(app, { ...staff, password: newPassword });
    await again.get('/admin').expect(200);
    await again.get('/admin').expect(200);
  });

  it('throttles sign-in on the API’s counters: 429 and Retry-After, even with the right password', async () => {
    const staff = await staffUser(app);
    for (let attempt = 0; attempt < LOGIN_MAX_FAILURES; attempt++) {
      await postAdminLogin(app.http(), staff.username, 'Wrong-Password-000').expect(401);
    }
    const blocked = await postAdminLogin(app.http(), staff.username, staff.password).expect(429);
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(blocked.text).toContain('Too many failed sign-in attempts');
    expect(blocked.headers['set-cookie']).toBeUndefined();
    // The same account is refused by the API too: one set of counters, in Redis.
    await app
      .http()
      .post('/api/auth/login/')
      .set('X-Forwarded-For', freshIp())
      .send({ username: staff.username, password: staff.password })
      .expect(429);

    // And per address, across accounts.
    const ip = freshIp();
    for (let attempt = 0; attempt < LOGIN_MAX_FAILURES; attempt++) {
      await postAdminLogin(app.http(), `nobody_${attempt}_${Date.now()}`, 'Wrong-1', ip).expect(
        401,
      );
    }
    const other = await staffUser(app);
    await postAdminLogin(app.http(), other.username, other.password, ip).expect(429);
    await postAdminLogin(app.http(), other.username, other.password).expect(302);
  });
});

describe('administration: abuse of the sign-in and the forms', () => {
  let app: TestApp;
  beforeAll(async () => {
    // Listening: 200 requests at once need one server, not one supertest listener each.
    app = await createTestApp(appEnv(), { listen: true });
  }, 60_000);
  afterAll(() => app.close());

  /**
   * The files in the temporary folder that hold `upload` after `run`. Jest's process.env is a copy,
   * so the folder cannot be swapped for the app under test: the upload's random bytes find it.
   */
  async function copiesInTemp(upload: Buffer, run: () => Promise<unknown>): Promise<string[]> {
    await run();
    const copies: string[] = [];
    for (const entry of await readdir(os.tmpdir(), { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const file = path.join(os.tmpdir(), entry.name);
      const size = await stat(file).then(
        (found) => found.size,
        () => -1,
      );
      if (size !== upload.length) continue;
      const content = await readFile(file).catch(() => null);
      if (content?.equals(upload)) copies.push(entry.name);
    }
    return copies;
  }

  it('writes no file for a multipart part, signed in or not: the forms carry no uploads', async () => {
    const staff = await staffUser(app);
    const agent = await signedInAgent(app, staff);
    const [{ id: profileId }] = await app.dataSource.query(
      'SELECT id FROM profiles WHERE user_id = $1',
      [staff.id],
    );
    const upload = randomBytes(64 * 1024);
    const statuses: number[] = [];
    const left = await copiesInTemp(upload, async () => {
      const anonymous = await app
        .http()
        .post('/admin/login')
        .set('X-Forwarded-For', freshIp())
        .field('email', 'nobody_at_all')
        .field('password', 'Not-The-Password-1')
        .attach('payload', upload, 'payload.bin');
      const staffForm = await agent
        .post(`/admin/api/resources/Profile/records/${profileId}/edit`)
        .field('bio', 'With an attachment')
        .attach('avatar', upload, 'avatar.png');
      statuses.push(anonymous.status, staffForm.status);
    });
    expect(left).toEqual([]);
    // Refused before any sign-in check or action: a file part is a bad request.
    expect(statuses).toEqual([400, 400]);
    // Multipart without a file part is read as before (AdminJS's front end posts its forms so).
    await app
      .http()
      .post('/admin/login')
      .set('X-Forwarded-For', freshIp())
      .field('email', staff.username)
      .field('password', staff.password)
      .expect(302)
      .expect('Location', '/admin');
  });

  it('checks at most LOGIN_MAX_FAILURES passwords of 200 wrong guesses fired at once', async () => {
    const staff = await staffUser(app);
    const answers = await Promise.all(
      Array.from({ length: 200 }, () =>
        postAdminLogin(app.http(), staff.username, 'Not-The-Password-1'),
      ),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
    // Each 401 is a password checked; the counter is taken before the check.
    expect(statuses.filter((status) => status === 401)).toHaveLength(LOGIN_MAX_FAILURES);
    await postAdminLogin(app.http(), staff.username, staff.password).expect(429);
  });
});

describe('administration: resources', () => {
  let app: TestApp;
  let staff: AdminAgent;
  let superuser: AdminAgent;
  beforeAll(async () => {
    app = await createTestApp(appEnv());
    staff = await signedInAgent(app, await staffUser(app));
    superuser = await signedInAgent(app, await staffUser(app, { superuser: true }));
  }, 60_000);
  afterAll(() => app.close());

  it('lists every entity, in the Users, Images and Scheduler groups', async () => {
    const { resources } = reduxState((await staff.get('/admin').expect(200)).text);
    expect(resources.map((resource) => resource.id).sort()).toEqual(
      ENTITIES.map((entity) => entity.name).sort(),
    );
    const group = (id: string) => resources.find((resource) => resource.id === id)?.navigation;
    expect(group('User')?.name).toBe('Users');
    expect(group('TokenFamily')?.name).toBe('Users');
    expect(group('SentMail')?.name).toBe('Users');
    expect(group('GeneratedImage')?.name).toBe('Images');
    expect(group('UserImageStats')?.name).toBe('Images');
    expect(group('ScheduledPost')?.name).toBe('Scheduler');
    expect(group('SocialAccount')?.name).toBe('Scheduler');
    expect(group('OutboxEvent')?.name).toBe('Events');
    expect(group('WebhookEndpoint')?.name).toBe('Webhooks');
    expect(group('WebhookDelivery')?.name).toBe('Webhooks');
    for (const { id } of resources) {
      const { body } = await staff.get(`/admin/api/resources/${id}/actions/list`).expect(200);
      expect(body.meta.total).toEqual(expect.any(Number));
    }
  });

  it('searches and filters a list', async () => {
    const owner = await registerUser(app);
    await insertImages(app, owner.id, [
      { status: 'generated', prompt: 'A red lighthouse' },
      { status: 'failed', prompt: 'A red barn' },
      { status: 'generated', prompt: 'A blue boat' },
    ]);
    const { body } = await staff
      .get('/admin/api/resources/GeneratedImage/actions/list')
      .query({ 'filters.userId': String(owner.id), 'filters.prompt': 'red' })
      .expect(200);
    expect(
      body.records.map((record: { params: { prompt: string } }) => record.params.prompt),
    ).toEqual(['A red barn', 'A red lighthouse']);
    const failed = await staff
      .get('/admin/api/resources/GeneratedImage/actions/list')
      .query({ 'filters.userId': String(owner.id), 'filters.status': 'failed' })
      .expect(200);
    expect(failed.body.meta.total).toBe(1);
    const users = await staff
      .get('/admin/api/resources/User/actions/search/' + encodeURIComponent(owner.username))
      .expect(200);
    expect(users.body.records.map((record: { id: number }) => record.id)).toEqual([owner.id]);
  });

  it('never shows a password hash or a token', async () => {
    const owner = await registerUser(app);
    const accountId = await connectAccount(app, owner);
    const list = await staff
      .get('/admin/api/resources/User/actions/list')
      .query({ 'filters.username': owner.username })
      .expect(200);
    const shown = await staff.get(`/admin/api/resources/User/records/${owner.id}/show`).expect(200);
    for (const text of [list.text, shown.text]) {
      expect(text).toContain(owner.username);
      expect(text).not.toContain('password"');
      expect(text).not.toContain('$argon2');
    }
    const account = await staff
      .get(`/admin/api/resources/SocialAccount/records/${accountId}/show`)
      .expect(200);
    expect(account.body.record.params.platform).toBe('twitter');
    expect(account.text).not.toMatch(/TokenEncrypted/);
    expect(account.text).not.toContain('plain-access-token-never-shown');
    const [stored] = await app.dataSource.query(
      'SELECT access_token_encrypted FROM social_accounts WHERE id = $1',
      [accountId],
    );
    expect(account.text).not.toContain(stored.access_token_encrypted);
    // And no page lists, shows, filters or edits such a field.
    const { resources } = reduxState((await staff.get('/admin').expect(200)).text) as unknown as {
      resources: ({ id: string } & Record<string, { propertyPath: string }[]>)[];
    };
    const fields = (id: string) => {
      const resource = resources.find((candidate) => candidate.id === id)!;
      return ['listProperties', 'showProperties', 'filterProperties', 'editProperties'].flatMap(
        (view) => resource[view].map((property) => property.propertyPath),
      );
    };
    expect(fields('User')).toContain('username');
    expect(fields('User')).not.toContain('password');
    expect(fields('SocialAccount')).toContain('platform');
    expect(fields('SocialAccount')).not.toContain('accessTokenEncrypted');
    expect(fields('SocialAccount')).not.toContain('refreshTokenEncrypted');
    expect(fields('WebhookEndpoint')).toContain('url');
    expect(fields('WebhookEndpoint')).not.toContain('secretEncrypted');
    expect(fields('WebhookEndpoint')).not.toContain('previousSecretEncrypted');
    expect(fields('SentMail')).toEqual(expect.arrayContaining(['to', 'kind', 'subject', 'status']));
    expect(fields('PasswordResetToken')).toContain('expiresAt');
    expect(fields('PasswordResetToken')).not.toContain('tokenHash');
  });

  it('shows webhook endpoints and deliveries, never a signing secret', async () => {
    const owner = await registerUser(app);
    const created = await app
      .http()
      .post('/api/webhooks/')
      .set(bearer(owner.access))
      .send({ url: 'https://93.184.215.14/hooks' })
      .expect(201);
    const id = created.body.id as number;
    await app
      .http()
      .post(`/api/webhooks/${id}/rotate-secret/`)
      .set(bearer(owner.access))
      .expect(200);
    await app.http().post(`/api/webhooks/${id}/test/`).set(bearer(owner.access)).expect(202);
    const [stored] = await app.dataSource.query(
      'SELECT secret_encrypted, previous_secret_encrypted FROM webhook_endpoints WHERE id = $1',
      [id],
    );
    const shown = await staff
      .get(`/admin/api/resources/WebhookEndpoint/records/${id}/show`)
      .expect(200);
    const list = await staff
      .get('/admin/api/resources/WebhookEndpoint/actions/list')
      .query({ 'filters.userId': String(owner.id) })
      .expect(200);
    for (const text of [shown.text, list.text]) {
      expect(text).toContain('https://93.184.215.14/hooks');
      expect(text).not.toMatch(/[sS]ecretEncrypted/);
      expect(text).not.toContain(created.body.secret.slice(6));
      expect(text).not.toContain(stored.secret_encrypted);
      expect(text).not.toContain(stored.previous_secret_encrypted);
    }
    const deliveries = await staff
      .get('/admin/api/resources/WebhookDelivery/actions/list')
      .query({ 'filters.endpointId': String(id) })
      .expect(200);
    expect(
      deliveries.body.records.map(
        (record: { params: { eventType: string } }) => record.params.eventType,
      ),
    ).toEqual(['ping']);
  });

  it('filters and sorts only by the offered fields: a hidden hash or token is no oracle', async () => {
    const owner = await registerUser(app);
    const accountId = await connectAccount(app, owner);
    const [{ password: hash }] = await app.dataSource.query(
      'SELECT password FROM users WHERE id = $1',
      [owner.id],
    );
    const [{ access_token_encrypted: token }] = await app.dataSource.query(
      'SELECT access_token_encrypted FROM social_accounts WHERE id = $1',
      [accountId],
    );
    const ids = (body: { records: { id: number | string }[] }) =>
      body.records.map((record) => Number(record.id));
    const list = (resource: string, query: Record<string, string>) =>
      staff.get(`/admin/api/resources/${resource}/actions/list`).query(query).expect(200);

    // An offered filter filters.
    const byName = { 'filters.username': owner.username };
    expect(ids((await list('User', byName)).body)).toEqual([owner.id]);
    const other = await list('User', { 'filters.username': `${owner.username}-nobody` });
    expect(other.body.meta.total).toBe(0);

    // A filter on the hash is ignored, matching or not (were it applied, the second would find none).
    for (const guess of [hash.slice(0, 20), `${hash.slice(0, 20)}#`, 'not-a-hash']) {
      const filtered = await list('User', { ...byName, 'filters.password': guess });
      expect(ids(filtered.body)).toEqual([owner.id]);
      expect(filtered.text).not.toContain('$argon2');
      const nested = await list('User', { ...byName, 'filters[password]': guess });
      expect(ids(nested.body)).toEqual([owner.id]);
    }
    for (const guess of [token.slice(0, 12), `${token.slice(0, 12)}#`]) {
      for (const field of ['accessTokenEncrypted', 'refreshTokenEncrypted']) {
        const filtered = await list('SocialAccount', {
          'filters.userId': String(owner.id),
          [`filters.${field}`]: guess,
        });
        expect(ids(filtered.body)).toEqual([accountId]);
      }
    }

    // A sort by the hash, or an unknown direction, is the default sort; an unknown filter, none.
    const sorted = await list('User', { ...byName, sortBy: 'password', direction: 'sideways' });
    expect(sorted.body.meta).toMatchObject({ sortBy: 'id', direction: 'desc' });
    expect(ids(sorted.body)).toEqual([owner.id]);
    const bySecret = await list('SocialAccount', { sortBy: 'accessTokenEncrypted' });
    expect(bySecret.body.meta.sortBy).toBe('id');
    expect(ids((await list('User', { ...byName, 'filters.nope': '1' })).body)).toEqual([owner.id]);
    // A value its column cannot hold is no filter either, rather than a database error.
    const badValues: Record<string, string>[] = [
      { 'filters.dateJoined~~from': 'garbage' },
      { 'filters.isStaff': 'maybe' },
    ];
    for (const bad of badValues) {
      expect(ids((await list('User', { ...byName, ...bad })).body)).toEqual([owner.id]);
    }
    const badOwner = await list('SocialAccount', { 'filters.userId': 'abc' });
    expect(badOwner.body.meta.total).toBeGreaterThanOrEqual(1);
    // A good date range still filters.
    const future = await list('User', { ...byName, 'filters.dateJoined~~from': '2999-01-01' });
    expect(future.body.meta.total).toBe(0);
    // A listed column still sorts.
    const byUsername = await list('User', { sortBy: 'username', direction: 'asc' });
    expect(byUsername.body.meta).toMatchObject({ sortBy: 'username', direction: 'asc' });

    // Search: the same rules, and it looks in the title or an offered filter only.
    const search = (resource: string, text: string, query: Record<string, string>) =>
      staff
        .get(`/admin/api/resources/${resource}/actions/search/${encodeURIComponent(text)}`)
        .query(query)
        .expect(200);
    const byHash = await search('User', hash.slice(0, 20), { searchProperty: 'password' });
    expect(byHash.body.records).toEqual([]);
    const byFilter = await search('User', owner.username, {
      'filters.password': 'not-a-hash',
      sortBy: 'password',
    });
    expect(ids(byFilter.body)).toEqual([owner.id]);
    const byEmail = await search('User', owner.email, { searchProperty: 'email' });
    expect(ids(byEmail.body)).toEqual([owner.id]);
    const byToken = await search('SocialAccount', token.slice(0, 12), {
      searchProperty: 'accessTokenEncrypted',
    });
    expect(byToken.body.records).toEqual([]);
    await search('User', 'x', { searchProperty: 'nope', 'filters.nope': '1' });
  });

  it('keeps page sizes and page numbers within bounds: no whole-table read, no 500', async () => {
    const owner = await registerUser(app);
    const prompt = `Paged ${owner.id}`;
    await insertImages(
      app,
      owner.id,
      Array.from({ length: 60 }, () => ({ prompt })),
    );
    const search = (query: Record<string, string>) =>
      staff
        .get(`/admin/api/resources/GeneratedImage/actions/search/${encodeURIComponent(prompt)}`)
        .query(query)
        .expect(200);
    const list = (query: Record<string, string>) =>
      staff
        .get('/admin/api/resources/GeneratedImage/actions/list')
        .query({ 'filters.userId': String(owner.id), ...query })
        .expect(200);

    // Within bounds, both are honoured.
    expect((await search({ perPage: '55' })).body.records).toHaveLength(55);
    expect((await list({ perPage: '20', page: '3' })).body.records).toHaveLength(20);
    // A search page size past the limit is the default (50), not the whole table.
    expect((await search({ perPage: '100000000' })).body.records).toHaveLength(50);
    // A page below 1, or not a number, is the first page; a size of 0 or below is the default.
    for (const page of ['-1', '0', 'two', '1.5']) {
      const { body } = await list({ page, perPage: '25' });
      expect(body.meta.page).toBe(1);
      expect(body.records).toHaveLength(25);
    }
    for (const perPage of ['-5', '0', 'x']) {
      expect((await search({ perPage })).body.records).toHaveLength(50);
    }
  });

  it('keeps token and history records read-only, and creates or deletes nothing generically', async () => {
    const owner = await registerUser(app);
    const [family] = await app.dataSource.query(
      'SELECT id FROM token_families WHERE user_id = $1',
      [owner.id],
    );
    expectForbidden(
      await staff
        .post(`/admin/api/resources/TokenFamily/records/${family.id}/edit`)
        .send({ revokedReason: 'x' }),
    );
    expectForbidden(
      await staff.post(`/admin/api/resources/TokenFamily/records/${family.id}/delete`),
    );
    expectForbidden(await superuser.post('/admin/api/resources/User/actions/new').send({}));
    // The outbox too: an event is what happened, for its consumers, never edited by hand.
    await app.dataSource.query(
      `INSERT INTO events (id, user_id, type, data) VALUES ('evt_admin_test', $1, 'ping', '{}')`,
      [owner.id],
    );
    for (const action of ['edit', 'delete'])
      expectForbidden(
        await superuser
          .post(`/admin/api/resources/OutboxEvent/records/evt_admin_test/${action}`)
          .send({ type: 'image.failed' }),
      );
    expectForbidden(await superuser.post('/admin/api/resources/OutboxEvent/actions/new').send({}));
    const [event] = await app.dataSource.query(
      `SELECT type FROM events WHERE id = 'evt_admin_test'`,
    );
    expect(event.type).toBe('ping');
    expectForbidden(await superuser.post(`/admin/api/resources/User/records/${owner.id}/delete`));
    const [still] = await app.dataSource.query(
      'SELECT revoked_reason FROM token_families WHERE id = $1',
      [family.id],
    );
    expect(still.revoked_reason).toBeNull();
    expect(
      await app.dataSource.query('SELECT id FROM users WHERE id = $1', [owner.id]),
    ).toHaveLength(1);
  });

  it('lets superusers, not staff, change a user’s flags, and nothing else of the user', async () => {
    const owner = await registerUser(app);
    const [before] = await app.dataSource.query(
      'SELECT password, username, email FROM users WHERE id = $1',
      [owner.id],
    );
    expectForbidden(
      await staff
        .post(`/admin/api/resources/User/records/${owner.id}/edit`)
        .send({ isStaff: 'true' }),
    );
    await superuser
      .post(`/admin/api/resources/User/records/${owner.id}/edit`)
      .field('isStaff', 'true')
      .field('firstName', 'Ada')
      .field('password', 'a-new-hash-attempt')
      .field('username', 'renamed_by_admin')
      .field('email', 'renamed@example.com')
      .expect(200);
    const [after] = await app.dataSource.query(
      'SELECT password, username, email, is_staff, first_name FROM users WHERE id = $1',
      [owner.id],
    );
    expect(after).toEqual({ ...before, is_staff: true, first_name: 'Ada' });
  });
});

describe('administration: profiles', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp(appEnv());
  }, 60_000);
  afterAll(() => app.close());

  it('lets staff change a profile’s settings, to one of the offered choices only', async () => {
    const staff = await signedInAgent(app, await staffUser(app));
    const owner = await registerUser(app);
    const [{ id }] = await app.dataSource.query('SELECT id FROM profiles WHERE user_id = $1', [
      owner.id,
    ]);
    const stored = async () =>
      (
        await app.dataSource.query(
          'SELECT bio, default_image_style, auto_validate_images, timezone FROM profiles WHERE id = $1',
          [id],
        )
      )[0];
    const refused = await staff
      .post(`/admin/api/resources/Profile/records/${id}/edit`)
      .field('defaultImageStyle', 'baroque')
      .expect(200);
    expect(refused.body.record.errors.defaultImageStyle.message).toBe('Not one of the choices.');
    expect(await stored()).toMatchObject({ default_image_style: 'realistic' });

    await staff
      .post(`/admin/api/resources/Profile/records/${id}/edit`)
      .field('defaultImageStyle', 'anime')
      .field('autoValidateImages', 'true')
      .field('bio', 'Set by the staff')
      .field('timezone', 'Mars/Olympus')
      .expect(200);
    expect(await stored()).toEqual({
      bio: 'Set by the staff',
      default_image_style: 'anime',
      auto_validate_images: true,
      timezone: 'UTC',
    });
  });
});

describe('administration: record actions go through the services', () => {
  let app: TestApp;
  let staff: AdminAgent;
  let owner: RegisteredUser;
  beforeAll(async () => {
    app = await createTestApp(appEnv());
    staff = await signedInAgent(app, await staffUser(app));
    owner = await registerUser(app);
  }, 60_000);
  afterAll(() => app.close());

  const image = async (id: number) =>
    (
      await app.dataSource.query(
        'SELECT status, validation_notes, validated_at FROM generated_images WHERE id = $1',
        [id],
      )
    )[0] as { status: string; validation_notes: string; validated_at: Date | null } | undefined;
  const history = (id: number) =>
    app.dataSource.query(
      'SELECT user_id, action, details FROM image_generation_history WHERE image_id = $1 ORDER BY id',
      [id],
    ) as Promise<{ user_id: number; action: string; details: Record<string, unknown> }[]>;

  it('validates an image with notes on POST, with the owner’s history row; a GET changes nothing', async () => {
    const [id] = await insertImages(app, owner.id, [{ status: 'generated' }]);
    const url = `/admin/api/resources/GeneratedImage/records/${id}/validateImage`;
    // What a cross-site link could trigger: it only shows the record.
    await staff.get(url).expect(200);
    expect((await image(id))?.status).toBe('generated');

    const { body } = await staff.post(url).send({ notes: 'Sharp and on brief' }).expect(200);
    expect(body.notice).toEqual({ message: `Image ${id} validated.`, type: 'success' });
    expect(body.record.params.status).toBe('validated');
    expect(body.redirectUrl).toBe(`/admin/resources/GeneratedImage/records/${id}/show`);
    const stored = await image(id);
    expect(stored?.status).toBe('validated');
    expect(stored?.validation_notes).toBe('Sharp and on brief');
    expect(stored?.validated_at).not.toBeNull();
    expect(await history(id)).toEqual([
      {
        user_id: owner.id,
        action: 'validate',
        details: { from: 'generated', notes: 'Sharp and on brief' },
      },
    ]);
  });

  it('rejects with notes, and refuses what the API refuses, saying why', async () => {
    const [generated, pending] = await insertImages(app, owner.id, [
      { status: 'generated' },
      { status: 'pending' },
    ]);
    await staff
      .post(`/admin/api/resources/GeneratedImage/records/${generated}/rejectImage`)
      .send({ notes: 'Off brand' })
      .expect(200);
    expect(await image(generated)).toMatchObject({
      status: 'rejected',
      validation_notes: 'Off brand',
    });

    const { body } = await staff
      .post(`/admin/api/resources/GeneratedImage/records/${pending}/rejectImage`)
      .send({ notes: 'Too early' })
      .expect(200);
    expect(body.notice).toEqual({
      message: 'Cannot reject an image that is pending.',
      type: 'error',
    });
    expect((await image(pending))?.status).toBe('pending');
    expect(await history(pending)).toEqual([]);

    const tooLong = await staff
      .post(`/admin/api/resources/GeneratedImage/records/${generated}/validateImage`)
      .send({ notes: 'x'.repeat(1001) })
      .expect(200);
    expect(tooLong.body.notice.type).toBe('error');
    expect((await image(generated))?.status).toBe('rejected');
  });

  it('validates and rejects in bulk, image by image, reporting the refused ones', async () => {
    const [a, b, pending] = await insertImages(app, owner.id, [
      { status: 'generated' },
      { status: 'rejected' },
      { status: 'pending' },
    ]);
    const { body } = await staff
      .post('/admin/api/resources/GeneratedImage/bulk/bulkValidate')
      .query({ recordIds: [a, b, pending].join(',') })
      .send({})
      .expect(200);
    expect(body.notice.type).toBe('error');
    expect(body.notice.message).toBe(
      `2 of 3 validated. Refused: #${pending}: Cannot validate an image that is pending.`,
    );
    expect((await image(a))?.status).toBe('validated');
    expect((await image(b))?.status).toBe('validated');
    expect((await image(pending))?.status).toBe('pending');
    expect((await history(b)).map((row) => row.details)).toEqual([{ from: 'rejected' }]);

    const rejected = await staff
      .post('/admin/api/resources/GeneratedImage/bulk/bulkReject')
      .query({ recordIds: [a, b].join(',') })
      .send({})
      .expect(200);
    expect(rejected.body.notice).toEqual({ message: '2 of 2 rejected.', type: 'success' });
    expect((await image(a))?.status).toBe('rejected');

    // The bulk page (GET) lists the records and changes nothing.
    const shown = await staff
      .get('/admin/api/resources/GeneratedImage/bulk/bulkValidate')
      .query({ recordIds: String(a) })
      .expect(200);
    expect(shown.body.records).toHaveLength(1);
    expect((await image(a))?.status).toBe('rejected');
  });

  it('deletes an image through the service: row gone, `deleted` history row kept', async () => {
    const [id] = await insertImages(app, owner.id, [{ status: 'generated', prompt: 'To remove' }]);
    await staff.get(`/admin/api/resources/GeneratedImage/records/${id}/delete`).expect(200);
    expect(await image(id)).toBeDefined();
    const { body } = await staff
      .post(`/admin/api/resources/GeneratedImage/records/${id}/delete`)
      .send({})
      .expect(200);
    expect(body.redirectUrl).toBe('/admin/resources/GeneratedImage');
    expect(await image(id)).toBeUndefined();
    expect((await history(id)).map((row) => [row.action, row.details])).toEqual([
      ['deleted', { prompt: 'To remove', status: 'generated' }],
    ]);
  });

  it('cancels a post and publishes it now, with the version bump and the publish job', async () => {
    const poster = await registerUser(app);
    const [imageId] = await insertImages(app, poster.id, [{ status: 'validated' }]);
    const accountId = await connectAccount(app, poster);
    const postId = await schedulePostIn1h(app, poster, imageId, accountId);
    const post = async () =>
      (
        await app.dataSource.query(
          'SELECT status, version, scheduled_time FROM scheduled_posts WHERE id = $1',
          [postId],
        )
      )[0] as { status: string; version: number; scheduled_time: Date };

    await staff.get(`/admin/api/resources/ScheduledPost/records/${postId}/cancelPost`).expect(200);
    expect(await post()).toMatchObject({ status: 'scheduled', version: 1 });
    const cancelled = await staff
      .post(`/admin/api/resources/ScheduledPost/records/${postId}/cancelPost`)
      .send({})
      .expect(200);
    expect(cancelled.body.notice).toEqual({
      message: `Post ${postId} cancelled.`,
      type: 'success',
    });
    expect(await post()).toMatchObject({ status: 'cancelled', version: 2 });

    // Cancelling twice is refused, as by the API.
    const again = await staff
      .post(`/admin/api/resources/ScheduledPost/records/${postId}/cancelPost`)
      .send({})
      .expect(200);
    expect(again.body.notice).toEqual({
      message: 'Cannot cancel a post that is cancelled.',
      type: 'error',
    });

    const before = Date.now();
    const published = await staff
      .post(`/admin/api/resources/ScheduledPost/records/${postId}/publishNow`)
      .send({})
      .expect(200);
    expect(published.body.notice.message).toBe(
      `Post ${postId} queued for publishing now (job publish-post:${postId}:3).`,
    );
    const now = await post();
    expect(now).toMatchObject({ status: 'scheduled', version: 3 });
    expect(now.scheduled_time.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(now.scheduled_time.getTime()).toBeLessThanOrEqual(Date.now());
    const queue = app.app.get<Queue>(getQueueToken('posts'), { strict: false });
    const job = await queue.getJob(`publish-post:${postId}:3`);
    expect(job?.data).toEqual({ postId, version: 3 });
  });

  it('pauses, resumes and deletes a schedule as its owner would, and the API shows the same', async () => {
    const owner = await registerUser(app);
    const created = await app
      .http()
      .post('/api/scheduler/schedules/')
      .set(bearer(owner.access))
      .send({
        name: 'Administered',
        frequency: 'daily',
        time_of_day: '08:30',
        timezone: 'Europe/Paris',
        platforms: ['twitter'],
        tags: ['admin'],
        caption: 'From a schedule',
      })
      .expect(201);
    const id = created.body.id as number;
    const viaApi = async () =>
      (await app.http().get(`/api/scheduler/schedules/${id}/`).set(bearer(owner.access))).body as {
        is_active?: boolean;
        next_run_at?: string | null;
        status?: number;
      };
    const act = (action: string) =>
      staff
        .post(`/admin/api/resources/PostingSchedule/records/${id}/${action}`)
        .send({})
        .expect(200);

    // A GET only shows the confirmation: nothing changes.
    await staff.get(`/admin/api/resources/PostingSchedule/records/${id}/pauseSchedule`).expect(200);
    expect(await viaApi()).toMatchObject({
      is_active: true,
      next_run_at: created.body.next_run_at,
    });
    expect((await act('pauseSchedule')).body.notice).toEqual({
      message: `Schedule ${id} paused.`,
      type: 'success',
    });
    expect(await viaApi()).toMatchObject({ is_active: false, next_run_at: null });
    const resumed = await act('resumeSchedule');
    expect(await viaApi()).toMatchObject({
      is_active: true,
      next_run_at: created.body.next_run_at,
    });
    expect(resumed.body.notice.message).toBe(
      `Schedule ${id} resumed: next run ${created.body.next_run_at}.`,
    );
    const shown = await staff.get(`/admin/api/resources/PostingSchedule/records/${id}/show`);
    expect(shown.body.record.params).toMatchObject({ isActive: true, name: 'Administered' });

    const deleted = await act('delete');
    expect(deleted.body.redirectUrl).toBe('/admin/resources/PostingSchedule');
    expect((await viaApi()).status).toBe(404);
  });
});

describe('administration: dashboard', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp(appEnv());
  }, 60_000);
  afterAll(() => app.close());

  it('sums every user’s images and posts, and lists the latest failures', async () => {
    const agent = await signedInAgent(app, await staffUser(app));
    const [alice, bob] = [await registerUser(app), await registerUser(app)];
    await insertImages(app, alice.id, [
      { status: 'generated', generationTime: 2 },
      { status: 'validated', generationTime: 4 },
      { status: 'pending' },
    ]);
    const [failedImage] = await insertImages(app, bob.id, [
      { status: 'failed', prompt: 'A storm that broke the provider' },
      { status: 'rejected', generationTime: 3 },
    ]);
    await app.dataSource.query(
      `UPDATE generated_images SET error_message = 'provider refused', updated_at = now() + interval '1 minute'
        WHERE id = $1`,
      [failedImage],
    );
    const [imageId] = await insertImages(app, bob.id, [{ status: 'validated' }]);
    const accountId = await connectAccount(app, bob, { platform: 'linkedin' });
    const failedPost = await schedulePostIn1h(app, bob, imageId, accountId, 'linkedin');
    await schedulePostIn1h(app, bob, imageId, accountId, 'linkedin');
    await app.dataSource.query(
      `UPDATE scheduled_posts SET status = 'failed', error_code = 'platform_rejected',
              error_message = 'duplicate content', updated_at = now() + interval '1 minute'
        WHERE id = $1`,
      [failedPost],
    );

    const { body } = await agent.get('/admin/api/dashboard').expect(200);
    // The truth, counted from the rows.
    const count = async (sql: string) =>
      ((await app.dataSource.query(sql)) as { n: number }[])[0].n;
    const images = async (status: string) =>
      count(`SELECT count(*)::int AS n FROM generated_images WHERE status = '${status}'`);
    expect(body.images).toMatchObject({
      total_images: await count('SELECT count(*)::int AS n FROM generated_images'),
      pending_images: await images('pending'),
      generated_images: await images('generated'),
      validated_images: await images('validated'),
      rejected_images: await images('rejected'),
      failed_images: await images('failed'),
    });
    expect(body.images.total_images).toBeGreaterThanOrEqual(6);
    const [{ avg }] = await app.dataSource.query(
      'SELECT round(avg(generation_time)::numeric, 2)::float AS avg FROM generated_images WHERE generation_time IS NOT NULL',
    );
    expect(body.images.average_generation_time).toBe(avg);
    const posts = async (status: string) =>
      count(`SELECT count(*)::int AS n FROM scheduled_posts WHERE status = '${status}'`);
    expect(body.posts).toMatchObject({
      total_failed: await posts('failed'),
      total_cancelled: await posts('cancelled'),
      total_posted: await posts('posted'),
      upcoming_posts: await count(
        `SELECT count(*)::int AS n FROM scheduled_posts WHERE status = 'scheduled' AND scheduled_time > now()`,
      ),
    });
    expect(body.posts.total_failed).toBeGreaterThanOrEqual(1);
    expect(body.posts.posts_by_platform.linkedin).toBe(
      await count(`SELECT count(*)::int AS n FROM scheduled_posts WHERE platform = 'linkedin'`),
    );
    expect(body.users.total_users).toBe(await count('SELECT count(*)::int AS n FROM users'));
    expect(Object.keys(body.queues).sort()).toEqual([
      'analytics',
      'events',
      'exports',
      'images',
      'mail',
      'maintenance',
      'posts',
      'webhooks',
    ]);
    expect(body.queues.posts.delayed).toBeGreaterThanOrEqual(1);

    expect(body.latest_failures.posts[0]).toMatchObject({
      id: failedPost,
      username: bob.username,
      platform: 'linkedin',
      error_code: 'platform_rejected',
      error_message: 'duplicate content',
    });
    expect(body.latest_failures.images[0]).toMatchObject({
      id: failedImage,
      username: bob.username,
      prompt: 'A storm that broke the provider',
      error_message: 'provider refused',
    });
  });
});

describe('administration: sessions outlive the process; cookies in production', () => {
  it('keeps a sign-in across a restart (the session is in PostgreSQL, not in memory)', async () => {
    const first = await createTestApp(appEnv());
    let cookie: string;
    try {
      const staff = await staffUser(first);
      const response = await postAdminLogin(first.http(), staff.username, staff.password).expect(
        302,
      );
      cookie = (response.headers['set-cookie'] as unknown as string[])[0].split(';')[0];
    } finally {
      await first.close();
    }
    const second = await createTestApp(appEnv());
    try {
      await second.http().get('/admin').set('Cookie', cookie).expect(200);
      await second.http().get('/admin/queues').set('Cookie', cookie).expect(200);
    } finally {
      await second.close();
    }
  }, 60_000);

  it('marks the cookie Secure in production, and sets it over HTTPS only', async () => {
    const app = await createTestApp({ ...appEnv(), NODE_ENV: 'production' });
    try {
      const staff = await staffUser(app);
      const https = await postAdminLogin(app.http(), staff.username, staff.password)
        .set('X-Forwarded-Proto', 'https')
        .expect(302);
      const [cookie] = https.headers['set-cookie'] as unknown as string[];
      expect(cookie).toMatch(/; Secure(;|$)/);
      expect(cookie).toMatch(/; HttpOnly(;|$)/);
      expect(cookie).toMatch(/; SameSite=Lax(;|$)/);
      const http = await postAdminLogin(app.http(), staff.username, staff.password).expect(302);
      expect(http.headers['set-cookie']).toBeUndefined();
    } finally {
      await app.close();
    }
  }, 60_000);
});
