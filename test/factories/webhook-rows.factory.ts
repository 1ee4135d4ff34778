import type { DataSource } from 'typeorm';

/** An endpoint row written straight into the database, for query-level tests (its secret is no secret). */
export async function insertEndpoint(
  dataSource: DataSource,
  userId: number,
  fields: { url?: string; events?: string[]; isActive?: boolean } = {},
): Promise<number> {
  const [{ id }] = (await dataSource.query(
    `INSERT INTO webhook_endpoints (user_id, url, events, is_active, secret_encrypted)
     VALUES ($1, $2, $3, $4, 'not-sealed') RETURNING id`,
    [
      userId,
      fields.url ?? 'https://hooks.example.com/in',
      fields.events ?? [],
      fields.isActive ?? true,
    ],
  )) as [{ id: number }];
  return id;
}
