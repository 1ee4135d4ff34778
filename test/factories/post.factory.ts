import { bearer, registerUser, type RegisteredUser } from './user.factory.js';
import type { TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

/** A user whose images validate themselves, with one validated image ready to schedule. */
export async function userWithValidatedImage(
  app: Pick<TestApp, 'http'>,
): Promise<{ user: RegisteredUser; imageId: number }> {
  const user = await registerUser(app);
  await app
    .http()
    .patch('/api/auth/profile/')
    .set(bearer(user.access))
    .send({ auto_validate_images: true })
    .expect(200);
  const created = await app
    .http()
    .post('/api/images/generate/')
    .set(bearer(user.access))
    .send({ prompt: 'A post picture', width: 256, height: 256 })
    .expect(201);
  const imageId = created.body.image.id as number;
  await waitFor(
    async () => {
      const { body } = await app
        .http()
        .get(`/api/images/${imageId}/`)
        .set(bearer(user.access))
        .expect(200);
      return body.status === 'validated' ? true : undefined;
    },
    20_000,
    'the image to be validated',
  );
  return { user, imageId };
}

export async function connectAccount(
  app: Pick<TestApp, 'http'>,
  user: RegisteredUser,
  body: Record<string, unknown>,
): Promise<number> {
  const response = await app
    .http()
    .post('/api/scheduler/accounts/')
    .set(bearer(user.access))
    .send(body)
    .expect(201);
  return response.body.id as number;
}

export function inSeconds(seconds: number): string {
  return new Date(Date.now() + seconds * 1000).toISOString();
}

export async function waitForPostStatus(
  app: Pick<TestApp, 'http'>,
  user: RegisteredUser,
  postId: number,
  statuses: string[],
  timeoutMs = 20_000,
) {
  return waitFor(
    async () => {
      const { body } = await app
        .http()
        .get(`/api/scheduler/posts/${postId}/`)
        .set(bearer(user.access))
        .expect(200);
      return statuses.includes(body.status) ? body : undefined;
    },
    timeoutMs,
    `post ${postId} to be ${statuses.join(' or ')}`,
  );
}
