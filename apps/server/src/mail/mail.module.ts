import { Global, Module } from '@nestjs/common';
import { OWNER_NOTIFIER } from '../events/event.types.js';
import { MailProcessor } from './mail.processor.js';
import { MailTemplates } from './mail-templates.js';
import { MailTransport } from './mail-transport.js';
import { Mailer } from './mailer.service.js';
import { EmailNotifications } from './notification.consumer.js';
import { UnsubscribeController } from './unsubscribe.controller.js';
import { UnsubscribeLinks } from './unsubscribe-links.js';
import { WeeklyDigest } from './weekly-digest.js';

/**
 * Email: the `mail` queue and its worker, the notifications (an event consumer, and the owner
 * notifier the webhooks call), the weekly digest and one-click unsubscribe. Global, so that any
 * module can queue a message (password reset) or tell an owner something.
 */
@Global()
@Module({
  controllers: [UnsubscribeController],
  providers: [
    MailTemplates,
    MailTransport,
    Mailer,
    MailProcessor,
    UnsubscribeLinks,
    EmailNotifications,
    { provide: OWNER_NOTIFIER, useExisting: EmailNotifications },
    WeeklyDigest,
  ],
  exports: [Mailer, OWNER_NOTIFIER, UnsubscribeLinks],
})
export class MailModule {}
