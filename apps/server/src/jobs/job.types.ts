/**
 * The one typed contract between whoever enqueues and the worker: every job name, the queue it
 * travels on and its payload. A job name without exactly one @OnJob handler stops a worker's boot.
 */
export enum QueueName {
  Maintenance = 'maintenance',
  Images = 'images',
  Posts = 'posts',
  /** Metrics syncs apart from publishing: an hourly batch must never delay a post due now. */
  Analytics = 'analytics',
  /** The outbox's dispatch: events reach their consumers apart from the work that made them. */
  Events = 'events',
  /** Webhook deliveries: a slow receiver must never hold up publishing. */
  Webhooks = 'webhooks',
  /** Outgoing mail, apart from everything else: an SMTP server's slowness delays nothing but mail. */
  Mail = 'mail',
  /** Data exports: a long ZIP build must never hold up anything else. */
  Exports = 'exports',
}

export enum JobName {
  PurgeExpiredTokens = 'auth.purge-expired-tokens',
  GenerateImage = 'images.generate',
  PublishPost = 'posts.publish',
  ReconcilePost = 'posts.reconcile',
  SyncPostAnalytics = 'posts.sync-analytics',
  DispatchEvent = 'events.dispatch',
  DeliverWebhook = 'webhooks.deliver',
  SendMail = 'mail.send',
  /** A password reset asked for: the lookup happens here, not in the request (no enumeration). */
  PasswordResetRequested = 'mail.password-reset-requested',
  WeeklyDigest = 'mail.weekly-digest',
  BuildExport = 'exports.build',
}

export interface JobPayloads {
  [JobName.PurgeExpiredTokens]: { before: string };
  /** `generation` is the image's generation counter when enqueued: a stale job is a no-op. */
  [JobName.GenerateImage]: { imageId: number; generation: number };
  /** `version` is the post's version when enqueued: a stale job (time changed, re-armed) exits. */
  [JobName.PublishPost]: { postId: number; version: number };
  /** A post left in processing past its lease: decide from its checkpoint, never blindly. */
  [JobName.ReconcilePost]: { postId: number; version: number };
  [JobName.SyncPostAnalytics]: { postId: number };
  /** Hands the recorded event to every consumer; the job id is the event's, so never doubled. */
  [JobName.DispatchEvent]: { eventId: string };
  /** `attempts` is the delivery's attempt count when enqueued: a stale job (attempt made) exits. */
  [JobName.DeliverWebhook]: { deliveryId: number; attempts: number };
  /**
   * One message of the sent-mail log, rendered by the worker. `sealed` holds the parameters that
   * are secrets (a reset token), encrypted: the queue board shows job data.
   */
  [JobName.SendMail]: {
    mailId: number;
    template: string;
    params: Record<string, unknown>;
    sealed?: string;
    /** The profile switch of a notification: it gets one-click unsubscribe headers and a link. */
    unsubscribe?: string;
  };
  /** `email` sealed too: an address typed into a public form need not sit in Redis in clear. */
  [JobName.PasswordResetRequested]: { sealedEmail: string; requestedAt: string };
  /** `week` is the Monday (local date) the digest's week starts on. */
  [JobName.WeeklyDigest]: { userId: number; week: string };
  /** The export row says the rest (its owner, include_media); a finished one makes the job a no-op. */
  [JobName.BuildExport]: { exportId: number };
}

export const QUEUE_OF: Record<JobName, QueueName> = {
  [JobName.PurgeExpiredTokens]: QueueName.Maintenance,
  [JobName.GenerateImage]: QueueName.Images,
  [JobName.PublishPost]: QueueName.Posts,
  [JobName.ReconcilePost]: QueueName.Posts,
  [JobName.SyncPostAnalytics]: QueueName.Analytics,
  [JobName.DispatchEvent]: QueueName.Events,
  [JobName.DeliverWebhook]: QueueName.Webhooks,
  [JobName.SendMail]: QueueName.Mail,
  [JobName.PasswordResetRequested]: QueueName.Mail,
  [JobName.WeeklyDigest]: QueueName.Mail,
  [JobName.BuildExport]: QueueName.Exports,
};

/**
 * A named backoff: the error may say how long to wait (a provider's Retry-After); otherwise the
 * delay doubles from the job's base delay.
 */
export const RETRY_AFTER_BACKOFF = 'retry-after';

export interface RetryAfterHint {
  retryAfterMs?: number;
}
