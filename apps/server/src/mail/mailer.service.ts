import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig, TokenCipher } from '@app/common';
import { type EmailNotificationKind, type MailKind, SentMailQueries } from '@app/database';
import { JobQueue } from '../jobs/job-queue.service.js';
import { JobName } from '../jobs/job.types.js';
import { MailTemplates, type MailTemplateName } from './mail-templates.js';
import type { TemplateParams } from './template-renderer.js';

export interface MailRequest {
  userId: number;
  to: string;
  kind: MailKind;
  template: MailTemplateName;
  /** The template's values (the greeting's `name` included); never a secret. */
  params: TemplateParams;
  /** Values that are secrets (a reset token): sealed in the job, never in the log table. */
  secrets?: TemplateParams;
  /** Once-only: a second request with the same key queues nothing new. */
  dedupeKey?: string;
  /** A notification: the switch its one-click unsubscribe turns off. */
  unsubscribe?: EmailNotificationKind;
}

/** The job's context binds the sealed secrets to their message: copied to another, they fail. */
export const sealContext = (mailId: number) => `sent_mails:${mailId}`;

export const sendMailJobId = (mailId: number) => `mail:${mailId}`;

/**
 * Queues a message: a row in the sent-mail log, then a job on the `mail` queue that the worker
 * renders and sends, with retries. Called again for the same dedupe key, it queues the job again
 * only while the row is still `queued` (the job id absorbs a duplicate), so a caller that crashed
 * between the two steps loses nothing by trying again, and one that succeeded sends nothing twice.
 */
@Injectable()
export class Mailer {
  private readonly cipher: TokenCipher;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly templates: MailTemplates,
    private readonly sentMails: SentMailQueries,
    private readonly queue: JobQueue,
  ) {
    this.cipher = new TokenCipher(config.crypto.tokenEncryptionKeys);
  }

  async queueMail(request: MailRequest): Promise<{ mailId: number; queued: boolean }> {
    const subject = this.templates.subject(request.template, request.params);
    const row = await this.sentMails.record({
      userId: request.userId,
      to: request.to,
      kind: request.kind,
      subject,
      dedupeKey: request.dedupeKey ?? null,
    });
    if (row.status !== 'queued') return { mailId: row.id, queued: false };
    await this.queue.enqueue(
      JobName.SendMail,
      {
        mailId: row.id,
        template: request.template,
        params: request.params,
        sealed: request.secrets
          ? this.cipher.encrypt(JSON.stringify(request.secrets), sealContext(row.id))
          : undefined,
        unsubscribe: request.unsubscribe,
      },
      {
        jobId: sendMailJobId(row.id),
        attempts: this.config.mail.attempts,
        backoffMs: this.config.mail.backoffMs,
      },
    );
    return { mailId: row.id, queued: true };
  }

  openSecrets(sealed: string, mailId: number): TemplateParams {
    return JSON.parse(this.cipher.decrypt(sealed, sealContext(mailId))) as TemplateParams;
  }
}
