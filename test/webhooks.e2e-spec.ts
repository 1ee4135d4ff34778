import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { createWebhook } from './support/webhooks.js';

const WEBHOOK_KEYS = [
  'created_at',
  'description',
  'disabled_reason',
  'events',
  'id',
  'is_active',
  'url',
];

describe('/api/webhooks/', () => {
  let app: TestApp;
  let user: RegisteredUser;
  let stranger: RegisteredUser;
  beforeAll(async () => {
    // Endpoints on loopback are what these tests create; the refusal of them has its own file.
    app = await createTestApp({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
    user = await registerUser(app);
    stranger = await registerUser(app);
  });
  afterAll(() => app.close());

  const post = (owner: RegisteredUser, body: unknown) =>
    app
      .http()
      .post('/api/webhooks/')
      .set(bearer(owner.access))
      .send(body as object);
  const endpointBody = (overrides: object = {}) => ({
    url: 'http://127.0.0.1:9/hooks',
    description: 'Order system',
    events: ['post.published', 'post.failed'],
    ...overrides,
  });

  it('creates an endpoint: its secret is whsec_ + base64 of 24+ bytes, shown once, stored sealed', async () => {
    const response = await post(user, endpointBody()).expect(201);
    expect(Object.keys(response.body).sort()).toEqual([...WEBHOOK_KEYS, 'secret'].sort());
    expect(response.body).toMatchObject({
      url: 'http://127.0.0.1:9/hooks',
      description: 'Order system',
      events: ['post.published', 'post.failed'],
      is_active: true,
      disabled_reason: null,
    });
    const { secret, id } = response.body;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24);
    for (const path of [`/api/webhooks/${id}/`, '/api/webhooks/']) {
      const read = await app.http().get(path).set(bearer(user.access)).expect(200);
      expect(read.text).not.toContain(secret.slice(6));
      expect(read.text).not.toContain('"secret"');
    }
    const detail = await app.http().get(`/api/webhooks/${id}/`).set(bearer(user.access));
    expect(Object.keys(detail.body).sort()).toEqual(WEBHOOK_KEYS);
    const [row] = await app.dataSource.query(
      'SELECT secret_encrypted FROM webhook_endpoints WHERE id = $1',
      [id],
    );
    expect(row.secret_encrypted).toMatch(/^v2\.[0-9a-f]{8}\./);
    expect(row.secret_encrypted).not.toContain(secret.slice(6));
  });

  it('takes every event when `events` is left out or empty', async () => {
    const response = await post(user, { url: 'http://127.0.0.1:9/all' }).expect(201);
    expect(response.body).toMatchObject({ events: [], description: '', is_active: true });
  });

  it('changes an endpoint; turning it on again clears the reason it was turned off', async () => {
    const { id } = await createWebhook(app, user, endpointBody());
    await app.dataSource.query(
      `UPDATE webhook_endpoints SET is_active = false, disabled_reason = 'Its last 20 deliveries all failed.' WHERE id = $1`,
      [id],
    );
    const off = await app.http().get(`/api/webhooks/${id}/`).set(bearer(user.access)).expect(200);
    expect(off.body).toMatchObject({
      is_active: false,
      disabled_reason: 'Its last 20 deliveries all failed.',
    });
    const changed = await app
      .http()
      .patch(`/api/webhooks/${id}/`)
      .set(bearer(user.access))
      .send({ is_active: true, events: ['image.generated'], description: 'Images' })
      .expect(200);
    expect(changed.body).toMatchObject({
      id,
      is_active: true,
      disabled_reason: null,
      events: ['image.generated'],
      description: 'Images',
      url: 'http://127.0.0.1:9/hooks',
    });
  });

  it('deletes an endpoint: 204, then 404', async () => {
    const { id } = await createWebhook(app, user, endpointBody());
    await app.http().delete(`/api/webhooks/${id}/`).set(bearer(user.access)).expect(204);
    expectProblem(await app.http().get(`/api/webhooks/${id}/`).set(bearer(user.access)), 404);
  });

  it('rotates the secret: a new one, shown once; the old one still signs for 24 hours', async () => {
    const created = await createWebhook(app, user, endpointBody());
    const before = Date.now();
    const rotated = await app
      .http()
      .post(`/api/webhooks/${created.id}/rotate-secret/`)
      .set(bearer(user.access))
      .expect(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.secret);
    expect(rotated.body.id).toBe(created.id);
    const [row] = await app.dataSource.query(
      'SELECT previous_secret_expires_at FROM webhook_endpoints WHERE id = $1',
      [created.id],
    );
    const overlap = new Date(row.previous_secret_expires_at).getTime() - before;
    expect(overlap).toBeGreaterThanOrEqual(24 * 3600 * 1000 - 60_000);
    expect(overlap).toBeLessThanOrEqual(24 * 3600 * 1000 + 60_000);
  });

  it('keeps at most 10 endpoints per user: the 11th is a 409 problem, and one deleted frees a place', async () => {
    const owner = await registerUser(app);
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) ids.push((await createWebhook(app, owner, endpointBody())).id);
    const eleventh = await post(owner, endpointBody());
    expectProblem(eleventh, 409);
    expect(eleventh.body.detail).toMatch(/10/);
    const [{ n }] = await app.dataSource.query(
      'SELECT count(*)::int AS n FROM webhook_endpoints WHERE user_id = $1',
      [owner.id],
    );
    expect(n).toBe(10);
    await app.http().delete(`/api/webhooks/${ids[0]}/`).set(bearer(owner.access)).expect(204);
    await post(owner, endpointBody()).expect(201);
  });

  it('lists endpoints paginated like the other lists', async () => {
    const owner = await registerUser(app);
    for (let i = 0; i < 3; i++) await createWebhook(app, owner, endpointBody());
    const first = await app
      .http()
      .get('/api/webhooks/?page_size=2')
      .set(bearer(owner.access))
      .expect(200);
    expect(first.body.count).toBe(3);
    expect(first.body.results).toHaveLength(2);
    expect(first.body.next).toBe(`${app.config.publicBaseUrl}/api/webhooks/?page_size=2&page=2`);
    expect(first.body.previous).toBeNull();
    const page2 = await app
      .http()
      .get('/api/webhooks/?page_size=2&page=2')
      .set(bearer(owner.access))
      .expect(200);
    expect(page2.body.results).toHaveLength(1);
    expectProblem(
      await app.http().get('/api/webhooks/?page=3&page_size=2').set(bearer(owner.access)),
      404,
    );
  });

  it("answers 404 for another user's endpoint, whatever the route", async () => {
    const { id } = await createWebhook(app, user, endpointBody());
    const [delivery] = await app.dataSource.query(
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, occurred_at, data, status)
       VALUES ($1, 'evt-stranger', 'ping', now(), '{}', 'failed') RETURNING id`,
      [id],
    );
    const as = bearer(stranger.access);
    expectProblem(await app.http().get(`/api/webhooks/${id}/`).set(as), 404);
    expectProblem(
      await app.http().patch(`/api/webhooks/${id}/`).set(as).send({ description: 'mine' }),
      404,
    );
    expectProblem(await app.http().delete(`/api/webhooks/${id}/`).set(as), 404);
    expectProblem(await app.http().post(`/api/webhooks/${id}/rotate-secret/`).set(as), 404);
    expectProblem(await app.http().post(`/api/webhooks/${id}/test/`).set(as), 404);
    expectProblem(await app.http().get(`/api/webhooks/${id}/deliveries/`).set(as), 404);
    expectProblem(
      await app.http().post(`/api/webhooks/${id}/deliveries/${delivery.id}/redeliver/`).set(as),
      404,
    );
    const list = await app.http().get('/api/webhooks/').set(as).expect(200);
    expect(list.body.results.map((row: { id: number }) => row.id)).not.toContain(id);
    // Untouched.
    const mine = await app.http().get(`/api/webhooks/${id}/`).set(bearer(user.access)).expect(200);
    expect(mine.body.description).toBe('Order system');
    const [{ n }] = await app.dataSource.query(
      'SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1',
      [id],
    );
    expect(n).toBe(1);
  });

  it.each([
    [{ description: 'no url' }, 'url'],
    [{ url: '' }, 'url'],
    [{ url: 42 }, 'url'],
    [{ url: 'not a url' }, 'url'],
    [{ url: 'ftp://127.0.0.1/hooks' }, 'url'],
    [{ url: 'http://user:pass@127.0.0.1/hooks' }, 'url'],
    [{ url: `http://127.0.0.1/${'a'.repeat(2048)}` }, 'url'], // longer than 2048
    [{ url: 'http://no-such-host.invalid/hooks' }, 'url'],
    [{ url: 'http://127.0.0.1:9/', events: ['post.deleted'] }, 'events'],
    [{ url: 'http://127.0.0.1:9/', events: 'post.published' }, 'events'],
    [{ url: 'http://127.0.0.1:9/', events: ['post.failed', 'post.failed'] }, 'events'],
    [{ url: 'http://127.0.0.1:9/', events: ['ping'] }, 'events'],
    [{ url: 'http://127.0.0.1:9/', description: 'x'.repeat(501) }, 'description'], // over 500
    [{ url: 'http://127.0.0.1:9/', description: null }, 'description'],
    [{ url: 'http://127.0.0.1:9/', secret: 'whsec_mine' }, 'secret'],
  ])('refuses bad body #%# with a 400 problem naming the field', async (body, field) => {
    const response = await post(user, body);
    expectFieldError(response, field);
  });

  it('refuses a bad PATCH with a 400 naming the field, and changes nothing', async () => {
    const { id } = await createWebhook(app, user, endpointBody());
    for (const [body, field] of [
      [{ is_active: 'maybe' }, 'is_active'],
      [{ url: 'gopher://127.0.0.1/' }, 'url'],
      [{ events: ['nope'] }, 'events'],
    ] as const) {
      expectFieldError(
        await app.http().patch(`/api/webhooks/${id}/`).set(bearer(user.access)).send(body),
        field,
      );
    }
    const after = await app.http().get(`/api/webhooks/${id}/`).set(bearer(user.access));
    expect(after.body).toMatchObject({ is_active: true, url: 'http://127.0.0.1:9/hooks' });
  });

  it('answers a repeated Idempotency-Key with the first answer, secret included, and makes one endpoint', async () => {
    const owner = await registerUser(app);
    const key = `webhook-${Date.now()}`;
    const send = (body: object) =>
      app
        .http()
        .post('/api/webhooks/')
        .set(bearer(owner.access))
        .set('Idempotency-Key', key)
        .send(body);
    const first = await send(endpointBody()).expect(201);
    const again = await send(endpointBody()).expect(201);
    expect(again.body).toEqual(first.body);
    expectProblem(await send(endpointBody({ description: 'another' })), 422);
    const list = await app.http().get('/api/webhooks/').set(bearer(owner.access)).expect(200);
    expect(list.body.count).toBe(1);
  });

  it('documents every webhook route in the OpenAPI document', async () => {
    const document = (await app.http().get('/api/docs-json').expect(200)).body;
    const paths = Object.keys(document.paths).filter((path) => path.startsWith('/api/webhooks'));
    expect(paths.sort()).toEqual(
      [
        '/api/webhooks/',
        '/api/webhooks/{id}/',
        '/api/webhooks/{id}/deliveries/',
        '/api/webhooks/{id}/deliveries/{deliveryId}/redeliver/',
        '/api/webhooks/{id}/rotate-secret/',
        '/api/webhooks/{id}/test/',
      ].sort(),
    );
    for (const path of paths) {
      for (const operation of Object.values(document.paths[path]) as { summary?: string }[]) {
        expect(operation.summary).toEqual(expect.any(String));
      }
    }
  });
});
