import { createHmac, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { type EmailNotificationKind, isEmailNotificationKind } from '@app/database';

/** How each switch is named in mail and on the unsubscribe pages. */
export const NOTIFICATION_LABELS: Record<EmailNotificationKind, string> = {
  post_failed: 'failed post',
  account_reconnect_required: 'account reconnection',
  schedule_run_skipped: 'skipped schedule run',
  webhook_disabled: 'disabled webhook',
  weekly_digest: 'weekly digest',
};

export const UNSUBSCRIBE_PATH = '/api/mail/unsubscribe/';

const TOKEN = /^(\d{1,10})\.([a-z_]{1,40})\.([A-Za-z0-9_-]{43})$/;

/**
 * One-click unsubscribe links (RFC 8058): `<user>.<switch>.<HMAC>`, signed with a key of their
 * own (HKDF of JWT_SECRET, label "image-automation mail-unsubscribe v1"). They do not expire: a
 * link in a mail from last year must still work. What one does is harmless (one switch of one
 * user turned off), so a signature is all it needs; rotating JWT_SECRET voids the links sent.
 */
@Injectable()
export class UnsubscribeLinks {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  token(userId: number, kind: EmailNotificationKind): string {
    return `${userId}.${kind}.${this.signature(userId, kind).toString('base64url')}`;
  }

  url(userId: number, kind: EmailNotificationKind): string {
    return `${this.config.publicBaseUrl}${UNSUBSCRIBE_PATH}?token=${this.token(userId, kind)}`;
  }

  /** The user and switch the token names, or null when it is not one of ours. */
  verify(token: string): { userId: number; kind: EmailNotificationKind } | null {
    const match = TOKEN.exec(token);
    if (!match || !isEmailNotificationKind(match[2])) return null;
    const userId = Number(match[1]);
    const given = Buffer.from(match[3], 'base64url');
    const expected = this.signature(userId, match[2]);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    return { userId, kind: match[2] };
  }

  private signature(userId: number, kind: string): Buffer {
    return createHmac('sha256', this.config.mail.unsubscribeKey)
      .update(`unsubscribe\n${userId}\n${kind}`)
      .digest();
  }
}
