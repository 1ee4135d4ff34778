import type { DataSource, EntityManager } from 'typeorm';

/**
 * Runs `fn` in a transaction holding a transaction-scoped advisory lock, or skips it (returns
 * `{ ran: false }`) when another process holds the lock: a scheduler tick on several replicas
 * then runs once.
 */
export async function withTryAdvisoryLock<T>(
  dataSource: DataSource,
  key: number,
  fn: (manager: EntityManager) => Promise<T>,
): Promise<{ ran: true; result: T } | { ran: false }> {
  return dataSource.transaction(async (manager) => {
    const [{ locked }] = (await manager.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [
      key,
    ])) as [{ locked: boolean }];
    if (!locked) return { ran: false } as const;
    return { ran: true, result: await fn(manager) } as const;
  });
}

/**
 * Runs `fn` while this process holds a session-level advisory lock, or skips it (returns
 * `{ ran: false }`) when another process holds it. For work made of several transactions of
 * its own, which a transaction-scoped lock could not span.
 */
export async function withTrySessionAdvisoryLock<T>(
  dataSource: DataSource,
  key: number,
  fn: () => Promise<T>,
): Promise<{ ran: true; result: T } | { ran: false }> {
  const session = dataSource.createQueryRunner();
  await session.connect();
  try {
    const [{ locked }] = (await session.query('SELECT pg_try_advisory_lock($1) AS locked', [
      key,
    ])) as [{ locked: boolean }];
    if (!locked) return { ran: false };
    try {
      return { ran: true, result: await fn() };
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [key]);
    }
  } finally {
    await session.release();
  }
}
