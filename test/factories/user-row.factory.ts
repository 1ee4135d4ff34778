import type { DataSource } from 'typeorm';
import { newUserFields } from './user.factory.js';

/**
 * A user and its profile written straight into the database, for query-level tests that have no
 * API to register through. The password is no hash: such a user never signs in.
 */
export async function insertUser(
  dataSource: DataSource,
  profile: { autoValidateImages?: boolean } = {},
): Promise<number> {
  const { username, email } = newUserFields();
  const [{ id }] = (await dataSource.query(
    `INSERT INTO users (username, email, password) VALUES ($1, $2, 'not-a-hash') RETURNING id`,
    [username, email],
  )) as [{ id: number }];
  await dataSource.query('INSERT INTO profiles (user_id, auto_validate_images) VALUES ($1, $2)', [
    id,
    profile.autoValidateImages ?? false,
  ]);
  return id;
}
