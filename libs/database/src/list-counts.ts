import type { DataSource, EntityManager } from 'typeorm';

/** A column of `user_list_counts` (migration ListCounters): one user's rows of one list. */
export type UserListCount = 'posts' | 'schedules' | 'accounts' | 'tags' | 'templates';

const USER_LIST_COUNT_SQL: Record<UserListCount, string> = {
  posts: 'SELECT coalesce((SELECT posts FROM user_list_counts WHERE user_id = $1), 0) AS n',
  schedules: 'SELECT coalesce((SELECT schedules FROM user_list_counts WHERE user_id = $1), 0) AS n',
  accounts: 'SELECT coalesce((SELECT accounts FROM user_list_counts WHERE user_id = $1), 0) AS n',
  tags: 'SELECT coalesce((SELECT tags FROM user_list_counts WHERE user_id = $1), 0) AS n',
  templates: 'SELECT coalesce((SELECT templates FROM user_list_counts WHERE user_id = $1), 0) AS n',
};

/**
 * How many rows of `list` the user has, from the counters row the triggers keep exact: one
 * index lookup instead of `count(*)` over the user's rows (api.md: a page must not cost a scan).
 */
export async function userListCount(
  db: DataSource | EntityManager,
  userId: number,
  list: UserListCount,
): Promise<number> {
  const [row] = (await db.query(USER_LIST_COUNT_SQL[list], [userId])) as { n: number }[];
  return row?.n ?? 0;
}

/**
 * How many posts the user has in `status` and/or on `platform` (either may be left out), from
 * `user_post_counts` (migration PostCountsByStatus): at most 25 rows of one user, whatever the
 * number of posts.
 */
export async function userPostCount(
  db: DataSource | EntityManager,
  userId: number,
  filter: { status?: string; platform?: string },
): Promise<number> {
  const [row] = (await db.query(
    `SELECT coalesce(sum(posts), 0)::int AS n FROM user_post_counts
      WHERE user_id = $1 AND ($2::varchar IS NULL OR status = $2) AND ($3::varchar IS NULL OR platform = $3)`,
    [userId, filter.status ?? null, filter.platform ?? null],
  )) as { n: number }[];
  return row?.n ?? 0;
}
