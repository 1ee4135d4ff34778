import { Injectable, type OnModuleInit } from '@nestjs/common';
import {
  type EmailNotificationKind,
  type MailKind,
  type MailRecipient,
  NotificationPreferenceQueries,
} from '@app/database';
import { EventConsumers } from '../events/event-consumers.js';
import type { DomainEvent, EventConsumer, OwnerNotifier } from '../events/event.types.js';
import { byteSize, excerpt, localTime, platformName, text } from './mail-format.js';
import type { MailTemplateName } from './mail-templates.js';
import { Mailer } from './mailer.service.js';
import type { TemplateParams } from './template-renderer.js';

interface Notification {
  kind: MailKind;
  /**
   * The profile switch that turns it off (and that its one-click unsubscribe turns off); null
   * for the answer to something the user asked for (an export), always sent.
   */
  preference: EmailNotificationKind | null;
  template: MailTemplateName;
  params: (recipient: MailRecipient) => TemplateParams;
  /** Values that are secrets (a download link): sealed in the job. */
  secrets?: TemplateParams;
}

/**
 * The email side of the events: a failed post (or one whose outcome is unknown), an account to
 * reconnect and a skipped run each mail their owner when the profile's switch is on. An export
 * ready mails its owner whatever the switches (they asked for it). The outbox
 * hands an event over at least once; the sent-mail log's dedupe key `event:<id>` makes the mail
 * once-only. Also the OwnerNotifier the webhooks call when they disable an endpoint.
 */
@Injectable()
export class EmailNotifications implements EventConsumer, OwnerNotifier, OnModuleInit {
  readonly name = 'email-notifications';

  constructor(
    private readonly consumers: EventConsumers,
    private readonly preferences: NotificationPreferenceQueries,
    private readonly mailer: Mailer,
  ) {}

  onModuleInit(): void {
    this.consumers.register(this);
  }

  async consume(event: DomainEvent): Promise<void> {
    const notification = notificationFor(event);
    if (!notification) return;
    await this.notify(event.userId, notification, `event:${event.id}`);
  }

  async webhookDisabled(
    userId: number,
    endpoint: { id: number; url: string },
    reason: string,
  ): Promise<void> {
    // One mail per disabling: an endpoint re-enabled and disabled again is a new occurrence.
    const disabledAt = new Date().toISOString().slice(0, 16);
    await this.notify(
      userId,
      {
        kind: 'webhook_disabled',
        preference: 'webhook_disabled',
        template: 'webhook-disabled',
        params: () => ({ endpoint_id: endpoint.id, endpoint_url: endpoint.url, reason }),
      },
      `webhook-disabled:${endpoint.id}:${disabledAt}`,
    );
  }

  private async notify(userId: number, notification: Notification, dedupeKey: string) {
    const recipient = await this.preferences.recipient(userId);
    if (!recipient?.isActive) return;
    if (notification.preference && !recipient.notifications[notification.preference]) return;
    await this.mailer.queueMail({
      userId,
      to: recipient.email,
      kind: notification.kind,
      template: notification.template,
      params: {
        name: recipient.firstName || recipient.username,
        ...notification.params(recipient),
      },
      secrets: notification.secrets,
      dedupeKey,
      unsubscribe: notification.preference ?? undefined,
    });
  }
}

/** Which mail an event calls for, if any; `data` is the resource as the API shows it. */
function notificationFor(event: DomainEvent): Notification | null {
  const data = event.data;
  switch (event.type) {
    case 'post.failed':
      return {
        kind: 'post_failed',
        preference: 'post_failed',
        template: 'post-failed',
        params: (recipient) => ({
          platform_name: platformName(data.platform),
          outcome_unknown: data.error_code === 'outcome_unknown',
          post_id: text(data.id),
          scheduled_time: localTime(data.scheduled_time, recipient.timezone),
          caption: excerpt(data.caption),
          error_message: text(data.error_message) || 'No reason was given.',
          error_code: text(data.error_code) || null,
        }),
      };
    case 'account.reconnect_required':
      return {
        kind: 'account_reconnect_required',
        preference: 'account_reconnect_required',
        template: 'account-reconnect-required',
        params: () => ({
          platform_name: platformName(data.platform),
          display_name: text(data.display_name) || text(data.account_id),
          account_id: text(data.id),
        }),
      };
    case 'schedule.run_skipped': {
      // The schedule, with the run skipped as `run` or first of `recent_runs`; or the run itself.
      const recent = Array.isArray(data.recent_runs) ? (data.recent_runs[0] as unknown) : undefined;
      const run = (data.run ?? recent ?? data) as Record<string, unknown>;
      const isRun = run === data && typeof data.schedule === 'number';
      return {
        kind: 'schedule_run_skipped',
        preference: 'schedule_run_skipped',
        template: 'schedule-run-skipped',
        params: (recipient) => ({
          schedule_name: text(data.name) || 'Recurring schedule',
          schedule_id: text(isRun ? data.schedule : data.id),
          occurrence_at: run.occurrence_at
            ? localTime(run.occurrence_at, recipient.timezone)
            : null,
          reason: text(run.reason) || 'No reason was given.',
          next_run_at: data.next_run_at ? localTime(data.next_run_at, recipient.timezone) : null,
        }),
      };
    }
    case 'export.ready':
      // The answer to the user's own request: sent whatever the notification switches say.
      return {
        kind: 'export_ready',
        preference: null,
        template: 'export-ready',
        params: (recipient) => ({
          export_id: text(data.id),
          size: byteSize(data.size),
          with_media: data.include_media === true,
          expires_at: localTime(data.expires_at, recipient.timezone),
        }),
        secrets: { download_url: text(data.download_url) },
      };
    default:
      return null;
  }
}
