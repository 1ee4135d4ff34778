import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/**
 * The statements of an account's deletion, in the caller's transaction (which holds the user's
 * row lock): what must stop first, then the rows.
 */
@Injectable()
export class AccountDeletionQueries {
  /**
   * Posts waiting or being published are cancelled as a new version (a queued publish job then
   * finds nothing to claim, a running one loses its claim), recurring schedules stopped and
   * every sign-in revoked, under those rows' locks: a publish claim or a schedule run that
   * started first is waited for, one that comes later finds nothing.
   */
  async stopActivity(userId: number, manager: EntityManager): Promise<void> {
    await manager.query(
      `UPDATE scheduled_posts SET status = 'cancelled', version = version + 1, updated_at = now()
       WHERE user_id = $1 AND status IN ('scheduled', 'processing')`,
      [userId],
    );
    await manager.query(
      `UPDATE posting_schedules SET is_active = false, updated_at = now() WHERE user_id = $1`,
      [userId],
    );
    await manager.query(
      `UPDATE token_families SET revoked_at = now(), revoked_reason = 'account_deleted'
       WHERE user_id = $1 AND revoked_at IS NULL`,
      [userId],
    );
  }

  /**
   * Deletes the user's row and, through the foreign keys' ON DELETE CASCADE, every row that
   * names the user; `image_generation_history` (no foreign key) by hand. The counters rows go
   * first: the counter triggers of the cascaded deletes then update nothing, instead of one
   * update of the same counters row per deleted image, post or link (100,000 images took
   * minutes that way).
   */
  async deleteRows(userId: number, manager: EntityManager): Promise<void> {
    await manager.query(
      `DELETE FROM image_tag_counts WHERE tag_id IN (SELECT id FROM image_tags WHERE user_id = $1)`,
      [userId],
    );
    await manager.query(
      `DELETE FROM schedule_run_counts
       WHERE schedule_id IN (SELECT id FROM posting_schedules WHERE user_id = $1)`,
      [userId],
    );
    await manager.query('DELETE FROM user_list_counts WHERE user_id = $1', [userId]);
    await manager.query('DELETE FROM user_image_stats WHERE user_id = $1', [userId]);
    await manager.query('DELETE FROM image_generation_history WHERE user_id = $1', [userId]);
    // A staff member's admin sessions (connect-pg-simple rows) carry their id and username.
    await manager.query(
      `DELETE FROM admin_sessions WHERE sess -> 'adminUser' ->> 'id' = $1::text`,
      [userId],
    );
    await manager.query('DELETE FROM users WHERE id = $1', [userId]);
  }
}
