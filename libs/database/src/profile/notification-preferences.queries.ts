import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import {
  type EmailNotificationKind,
  type EmailNotifications,
  effectiveEmailNotifications,
} from './email-notifications.js';

/** Who a message goes to, and what they agreed to receive. */
export interface MailRecipient {
  userId: number;
  email: string;
  username: string;
  firstName: string;
  timezone: string;
  isActive: boolean;
  notifications: EmailNotifications;
}

/** The email switches of the profiles, and the recipients they describe. */
@Injectable()
export class NotificationPreferenceQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Sets the given switches, leaving the others as they are, in one statement: a concurrent
   * change of another switch (an unsubscribe click during a profile edit) is never lost.
   */
  async merge(
    userId: number,
    changes: Partial<EmailNotifications>,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<number> {
    const [, affected] = (await manager.query(
      `UPDATE profiles SET email_notifications = email_notifications || $2::jsonb, updated_at = now()
        WHERE user_id = $1`,
      [userId, JSON.stringify(changes)],
    )) as [unknown, number];
    return affected;
  }

  /** Turns one switch off (one-click unsubscribe); false when the user no longer exists. */
  async switchOff(userId: number, kind: EmailNotificationKind): Promise<boolean> {
    return (await this.merge(userId, { [kind]: false })) > 0;
  }

  async recipient(userId: number): Promise<MailRecipient | null> {
    const [row] = (await this.dataSource.query(
      `SELECT u.id, u.email, u.username, u.first_name, u.is_active, p.timezone, p.email_notifications
         FROM users u JOIN profiles p ON p.user_id = u.id
        WHERE u.id = $1`,
      [userId],
    )) as RecipientRow[];
    return row ? toRecipient(row) : null;
  }

  /** Active users with an email, found by address whatever its case (password reset). */
  async recipientByEmail(email: string): Promise<MailRecipient | null> {
    const [row] = (await this.dataSource.query(
      `SELECT u.id, u.email, u.username, u.first_name, u.is_active, p.timezone, p.email_notifications
         FROM users u JOIN profiles p ON p.user_id = u.id
        WHERE lower(u.email) = lower($1) AND u.is_active
        ORDER BY u.id LIMIT 1`,
      [email],
    )) as RecipientRow[];
    return row ? toRecipient(row) : null;
  }

  /**
   * Active users who asked for the weekly digest, by id after `afterId`: the digest's tick pages
   * through them. Reads the partial index of opted-in profiles.
   */
  async digestSubscribers(
    afterId: number,
    limit: number,
  ): Promise<{ userId: number; timezone: string }[]> {
    const rows = (await this.dataSource.query(
      `SELECT p.user_id, p.timezone
         FROM profiles p JOIN users u ON u.id = p.user_id
        WHERE (p.email_notifications ->> 'weekly_digest') = 'true' AND u.is_active
          AND p.user_id > $1
        ORDER BY p.user_id LIMIT $2`,
      [afterId, limit],
    )) as { user_id: number; timezone: string }[];
    return rows.map((row) => ({ userId: row.user_id, timezone: row.timezone }));
  }
}

interface RecipientRow {
  id: number;
  email: string;
  username: string;
  first_name: string;
  is_active: boolean;
  timezone: string;
  email_notifications: Record<string, unknown> | null;
}

function toRecipient(row: RecipientRow): MailRecipient {
  return {
    userId: row.id,
    email: row.email,
    username: row.username,
    firstName: row.first_name,
    timezone: row.timezone,
    isActive: row.is_active,
    notifications: effectiveEmailNotifications(row.email_notifications),
  };
}
