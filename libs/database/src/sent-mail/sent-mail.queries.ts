import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { type MailKind, type MailStatus, SentMail } from './sent-mail.entity.js';

export interface NewSentMail {
  userId: number;
  to: string;
  kind: MailKind;
  subject: string;
  dedupeKey: string | null;
}

/** The sent-mail log. */
@Injectable()
export class SentMailQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * The message's row: inserted, or the existing one when its dedupe key was recorded before
   * (`created` false). The caller queues a job only while the row is still `queued`.
   */
  async record(mail: NewSentMail): Promise<{ id: number; status: MailStatus; created: boolean }> {
    // DO UPDATE with a no-op rather than DO NOTHING, so RETURNING gives the existing row too.
    const [row] = (await this.dataSource.query(
      `INSERT INTO sent_mails (user_id, to_address, kind, subject, dedupe_key)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (dedupe_key) DO UPDATE SET dedupe_key = EXCLUDED.dedupe_key
       RETURNING id, status, (xmax = 0) AS created`,
      [mail.userId, mail.to, mail.kind, mail.subject.slice(0, 255), mail.dedupeKey],
    )) as { id: number; status: MailStatus; created: boolean }[];
    return row;
  }

  findById(id: number): Promise<SentMail | null> {
    return this.dataSource.getRepository(SentMail).findOneBy({ id });
  }

  /** The dedupe keys among `keys` already recorded. */
  async existingKeys(keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const rows = (await this.dataSource.query(
      'SELECT dedupe_key FROM sent_mails WHERE dedupe_key = ANY($1)',
      [keys],
    )) as { dedupe_key: string }[];
    return new Set(rows.map((row) => row.dedupe_key));
  }

  /** Accepted by the SMTP server (or written to the log): the row's final state. */
  async markSent(id: number, attempts: number, messageId: string | null, at: Date): Promise<void> {
    await this.dataSource
      .getRepository(SentMail)
      .update({ id }, { status: 'sent', attempts, messageId, sentAt: at, error: '' });
  }

  /** A try failed; `final` when no retry follows. */
  async markAttemptFailed(
    id: number,
    attempts: number,
    error: string,
    final: boolean,
  ): Promise<void> {
    await this.dataSource
      .getRepository(SentMail)
      .update(
        { id },
        { attempts, error: error.slice(0, 2000), ...(final ? { status: 'failed' as const } : {}) },
      );
  }

  async markSkipped(id: number, reason: string): Promise<void> {
    await this.dataSource
      .getRepository(SentMail)
      .update({ id }, { status: 'skipped', error: reason });
  }
}
