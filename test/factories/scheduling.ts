import type { TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';
import { bearer, type RegisteredUser } from './user.factory.js';

/** A post as the API answers it (the fields the tests read most; the rest stay loose). */
export interface PostBody {
  id: number;
  status: string;
  caption: string;
  hashtags: string;
  scheduled_time: string;
  posted_at: string | null;
  error_code: string | null;
  error_message: string;
  platform_post_id: string | null;
  metadata: Record<string, unknown>;
  [field: string]: unknown;
}

/** POST schedule/ as a client would; answers the response (status not checked). */
export function schedulePost(
  app: Pick<TestApp, 'http'>,
  user: RegisteredUser,
  body: Record<string, unknown>,
) {
  return app.http().post('/api/scheduler/schedule/').set(bearer(user.access)).send(body);
}

/** The status of the user's account, as the API shows it to its owner. */
export async function accountStatus(
  app: TestApp,
  user: RegisteredUser,
  accountId: number,
): Promise<string> {
  const { body } = await app
    .http()
    .get(`/api/scheduler/accounts/${accountId}/`)
    .set(bearer(user.access))
    .expect(200);
  return body.status as string;
}

/** Every post of the user, through the API (all pages of 100). */
export async function allPosts(
  app: TestApp,
  user: RegisteredUser,
  query: Record<string, string> = {},
): Promise<PostBody[]> {
  const posts: PostBody[] = [];
  for (let page = 1; ; page++) {
    const { body } = await app
      .http()
      .get('/api/scheduler/posts/')
      .query({ ...query, page: String(page), page_size: '100' })
      .set(bearer(user.access))
      .expect(200);
    posts.push(...(body.results as PostBody[]));
    if (!body.next) return posts;
  }
}

/** Waits (by reading the rows, cheaply) until none of `ids` is scheduled or processing. */
export async function waitUntilSettled(
  app: TestApp,
  ids: number[],
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(
    async () => {
      const [{ n }] = (await app.dataSource.query(
        `SELECT count(*)::int AS n FROM scheduled_posts WHERE id = ANY($1) AND status IN ('scheduled', 'processing')`,
        [ids],
      )) as [{ n: number }];
      return n === 0 ? true : undefined;
    },
    timeoutMs,
    `posts ${ids.join(', ')} to be settled`,
  );
}

/** How many times each value occurs. */
export function tally(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}
