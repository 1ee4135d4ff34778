import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { User } from '@app/database';
import { AuthService } from '../apps/server/src/auth/auth.service.js';
import { decodeJwtPayload } from './support/jwt.js';
import { bearer, registerUser } from './factories/user.factory.js';
import { createTestApp, type TestApp } from './support/test-app.js';

describe('the bearer check’s hand-mapped query', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('loads exactly what TypeORM loads for the user and profile', async () => {
    const registered = await registerUser(app, { first_name: 'Zoé', last_name: "O'Neil" });
    await app
      .http()
      .patch('/api/auth/profile/')
      .set(bearer(registered.access))
      .send({ bio: 'Hi', auto_validate_images: true, timezone: 'Europe/Paris' })
      .expect(200);
    const family = decodeJwtPayload(registered.access).fam as string;

    const mapped = await app.app.get(AuthService).findAuthenticated(registered.id, family);
    const loaded = await app.dataSource
      .getRepository(User)
      .findOne({ where: { id: registered.id }, relations: { profile: true } });
    expect(mapped).toBeInstanceOf(User);
    // Same properties, same values, same types (dates as Date, booleans as booleans), and the
    // image list's version: 0 for a user who never had an image.
    expect({ ...mapped, profile: { ...mapped!.profile } }).toEqual({
      ...loaded,
      profile: { ...loaded!.profile },
      imagesVersion: '0',
    });
  });

  it('finds nobody for a revoked family, another user’s family or an inactive user', async () => {
    const one = await registerUser(app);
    const two = await registerUser(app);
    const auth = app.app.get(AuthService);
    const familyOfTwo = decodeJwtPayload(two.access).fam as string;
    expect(await auth.findAuthenticated(one.id, familyOfTwo)).toBeNull();
    await app.dataSource.query('UPDATE users SET is_active = false WHERE id = $1', [two.id]);
    expect(await auth.findAuthenticated(two.id, familyOfTwo)).toBeNull();
    await app
      .http()
      .post('/api/auth/logout/')
      .set(bearer(one.access))
      .send({ refresh: one.refresh })
      .expect(200);
    expect(
      await auth.findAuthenticated(one.id, decodeJwtPayload(one.access).fam as string),
    ).toBeNull();
  });
});
