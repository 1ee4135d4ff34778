import { randomInt } from 'node:crypto';
import request from 'supertest';
import { bearer, registerUser, type RegisteredUser } from '../factories/user.factory.js';
import { connectAccount as connectAccountThroughApi } from '../factories/post.factory.js';
import type { TestApp } from './test-app.js';

export type AdminAgent = ReturnType<typeof request.agent>;

/** A registered user made staff (and superuser if asked), as `createsuperuser` would. */
export async function staffUser(
  app: TestApp,
  options: { superuser?: boolean } = {},
): Promise<RegisteredUser> {
  const user = await registerUser(app);
  await app.dataSource.query('UPDATE users SET is_staff = true, is_superuser = $2 WHERE id = $1', [
    user.id,
    options.superuser === true,
  ]);
  return user;
}

/** A cookie-keeping client, like a browser. */
export function adminAgent(app: TestApp): AdminAgent {
  return request.agent(app.app.getHttpServer());
}

/** An address of its own per call (documentation range), for apps with TRUST_PROXY=1. */
export const freshIp = () =>
  `2001:db8::${randomInt(65536).toString(16)}:${randomInt(65536).toString(16)}`;

/** Posts the sign-in form as AdminJS's login page does (urlencoded, fields email and password). */
export function postAdminLogin(
  client: AdminAgent | ReturnType<TestApp['http']>,
  login: string,
  password: string,
  ip = freshIp(),
) {
  return client
    .post('/admin/login')
    .type('form')
    .set('X-Forwarded-For', ip)
    .send({ email: login, password });
}

/** An agent signed in as this staff member (asserts the redirect to the panel). */
export async function signedInAgent(app: TestApp, user: RegisteredUser): Promise<AdminAgent> {
  const agent = adminAgent(app);
  await postAdminLogin(agent, user.username, user.password)
    .expect(302)
    .expect('Location', '/admin');
  return agent;
}

/** The state AdminJS's pages boot from (resources, their navigation, the signed-in admin). */
export function reduxState(html: string): {
  resources: { id: string; navigation: { name: string | null } | null }[];
  session: { email: string } | null;
} {
  const match = /window\.REDUX_STATE = (\{.*?\});\n/s.exec(html);
  if (!match) throw new Error('no REDUX_STATE in the page');
  return JSON.parse(match[1]);
}

/** A connected account, through the API (its tokens are stored encrypted): X by default. */
export function connectAccount(
  app: TestApp,
  user: RegisteredUser,
  body: Record<string, unknown> = {},
): Promise<number> {
  return connectAccountThroughApi(app, user, {
    platform: 'twitter',
    account_id: `acct-${randomInt(1e9)}`,
    access_token: 'plain-access-token-never-shown',
    refresh_token: 'plain-refresh-token-never-shown',
    ...body,
  });
}

/**
 * A post scheduled through the API, an hour from now: its delayed publish job is enqueued. The
 * image (validated) is given a rendition key, as if the worker had stored its files.
 */
export async function schedulePostIn1h(
  app: TestApp,
  user: RegisteredUser,
  imageId: number,
  accountId: number,
  platform = 'twitter',
): Promise<number> {
  await app.dataSource.query(
    `UPDATE generated_images SET rendition_key = coalesce(rendition_key, 'images/' || id || '.jpg') WHERE id = $1`,
    [imageId],
  );
  const response = await app
    .http()
    .post('/api/scheduler/schedule/')
    .set(bearer(user.access))
    .send({
      image: imageId,
      account: accountId,
      platform,
      caption: 'A post to administer',
      scheduled_time: new Date(Date.now() + 3600_000).toISOString(),
    })
    .expect(201);
  return response.body.post.id as number;
}
