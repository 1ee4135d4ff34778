import { Injectable, Logger } from '@nestjs/common';
import type { Job } from 'bull';
import {
  type EmailNotificationKind,
  isEmailNotificationKind,
  NotificationPreferenceQueries,
  SentMailQueries,
} from '@app/database';
import { JobName, type JobPayloads } from '../jobs/job.types.js';
import { OnJob } from '../jobs/on-job.decorator.js';
import { MAIL_TEMPLATES, MailTemplates, type MailTemplateName } from './mail-templates.js';
import { MailDeliveryError, MailTransport } from './mail-transport.js';
import { Mailer } from './mailer.service.js';
import { NOTIFICATION_LABELS, UnsubscribeLinks } from './unsubscribe-links.js';

type Payload = JobPayloads[JobName.SendMail];

/**
 * The worker's side of a message: render it from its template, send it, record the outcome.
 * Temporary SMTP failures (4xx, connection errors) are thrown back to Bull, which retries with
 * backoff; a permanent refusal (5xx) or the last try marks the row failed. A row no longer
 * `queued` (sent by an earlier run of a stalled job) is left alone.
 */
@Injectable()
export class MailProcessor {
  private readonly logger = new Logger(MailProcessor.name);

  constructor(
    private readonly sentMails: SentMailQueries,
    private readonly preferences: NotificationPreferenceQueries,
    private readonly templates: MailTemplates,
    private readonly transport: MailTransport,
    private readonly links: UnsubscribeLinks,
    private readonly mailer: Mailer,
  ) {}

  @OnJob(JobName.SendMail)
  async run(payload: Payload, job: Job<Payload>): Promise<{ status: string }> {
    const row = await this.sentMails.findById(payload.mailId);
    if (!row || row.status !== 'queued') return { status: 'skipped' };
    const attempts = job.attemptsMade + 1;
    const unsubscribe = isEmailNotificationKind(payload.unsubscribe)
      ? payload.unsubscribe
      : undefined;
    if (unsubscribe) {
      // Switched off (or the account closed) since the message was queued: it is not sent.
      const recipient = await this.preferences.recipient(row.userId);
      if (!recipient?.isActive || !recipient.notifications[unsubscribe]) {
        await this.sentMails.markSkipped(
          row.id,
          'The notification was switched off before it was sent.',
        );
        return { status: 'skipped' };
      }
    }
    const message = this.compose(payload, row.id, row.userId, unsubscribe);
    try {
      const delivery = await this.transport.send({ to: row.to, ...message });
      if (delivery.outcome === 'skipped') {
        await this.sentMails.markSkipped(row.id, delivery.reason);
        return { status: 'skipped' };
      }
      await this.sentMails.markSent(row.id, attempts, delivery.messageId, new Date());
      return { status: 'sent' };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const transient = !(error instanceof MailDeliveryError) || error.transient;
      const attemptsLeft = (job.opts.attempts ?? 1) - attempts;
      const retry = transient && attemptsLeft > 0;
      await this.sentMails.markAttemptFailed(row.id, attempts, reason, !retry);
      if (retry) {
        this.logger.warn(`Mail ${row.id}: ${reason}; retrying (${attemptsLeft} tries left)`);
        throw error;
      }
      this.logger.error(`Mail ${row.id} (${row.kind}) not sent: ${reason}`);
      return { status: 'failed' };
    }
  }

  private compose(
    payload: Payload,
    mailId: number,
    userId: number,
    unsubscribe: EmailNotificationKind | undefined,
  ) {
    if (!(MAIL_TEMPLATES as readonly string[]).includes(payload.template))
      throw new Error(`Unknown mail template ${payload.template}`);
    const secrets = payload.sealed ? this.mailer.openSecrets(payload.sealed, mailId) : {};
    if (!unsubscribe) {
      return this.templates.render(payload.template as MailTemplateName, {
        ...payload.params,
        ...secrets,
      });
    }
    const url = this.links.url(userId, unsubscribe);
    return {
      ...this.templates.render(payload.template as MailTemplateName, {
        ...payload.params,
        ...secrets,
        unsubscribe_url: url,
        unsubscribe_reason: `the ${NOTIFICATION_LABELS[unsubscribe]} notification`,
      }),
      // RFC 8058: a POST to this URL with List-Unsubscribe=One-Click unsubscribes, no sign-in.
      headers: {
        'List-Unsubscribe': `<${url}>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    };
  }
}
