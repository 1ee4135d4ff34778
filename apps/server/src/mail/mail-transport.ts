import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import type { Transporter } from 'nodemailer';
import { APP_CONFIG, type AppConfig } from '@app/common';
import type { RenderedMail } from './mail-templates.js';

export interface OutgoingMessage extends RenderedMail {
  to: string;
  headers?: Record<string, string>;
}

/** What became of a message handed to the transport. */
export type Delivery =
  { outcome: 'sent'; messageId: string | null } | { outcome: 'skipped'; reason: string };

/** The SMTP server refused or could not be reached; `transient` ones are worth a retry. */
export class MailDeliveryError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

/** Connection-level failures of nodemailer: the server may answer next time. */
const TRANSIENT_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ETLS',
  'EPROTOCOL',
]);

/**
 * nodemailer over SMTP_URL. Without it: outside production each message is written to the log
 * (its text part, so a developer can follow a reset link); in production nothing is written
 * (a reset link in shipped logs is a credential) and the message is recorded as skipped.
 */
@Injectable()
export class MailTransport implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Mail');
  private transporter?: Transporter;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** nodemailer (some 20 MB resident) is loaded only when there is an SMTP server to talk to. */
  async onModuleInit(): Promise<void> {
    if (!this.config.mail.smtpUrl) return;
    const { default: nodemailer } = await import('nodemailer');
    this.transporter = nodemailer.createTransport(this.config.mail.smtpUrl, {
      from: this.config.mail.from,
    });
  }

  get mode(): 'smtp' | 'log' | 'off' {
    if (this.config.mail.smtpUrl) return 'smtp';
    return this.config.env === 'production' ? 'off' : 'log';
  }

  async send(message: OutgoingMessage): Promise<Delivery> {
    if (!this.transporter) {
      if (this.mode === 'off')
        return { outcome: 'skipped', reason: 'SMTP_URL is not set: mail is not sent.' };
      this.logger.log(
        `Mail not sent (SMTP_URL is not set) to ${message.to}: ${message.subject}\n${message.text}`,
      );
      return { outcome: 'sent', messageId: null };
    }
    try {
      const info = (await this.transporter.sendMail({
        from: this.config.mail.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        headers: message.headers,
      })) as { messageId?: string };
      return { outcome: 'sent', messageId: info.messageId ?? null };
    } catch (error) {
      const {
        responseCode,
        code,
        message: text,
      } = error as {
        responseCode?: number;
        code?: string;
        message: string;
      };
      // 4xx: "try again later" (greylisting, a full queue); 5xx: refused for good.
      const transient =
        responseCode !== undefined
          ? responseCode >= 400 && responseCode < 500
          : TRANSIENT_CODES.has(code ?? '') || code === undefined;
      throw new MailDeliveryError(text, transient);
    }
  }

  onModuleDestroy(): void {
    this.transporter?.close();
  }
}
