/**
 * The notifications a user may switch off one by one (api.md, "Email"). The profile stores only
 * the choices made (`{}` for a new user), so a kind added later gets its default everywhere
 * without rewriting rows.
 */
export const EMAIL_NOTIFICATION_KINDS = [
  'post_failed',
  'account_reconnect_required',
  'schedule_run_skipped',
  'webhook_disabled',
  'weekly_digest',
] as const;
export type EmailNotificationKind = (typeof EMAIL_NOTIFICATION_KINDS)[number];

export type EmailNotifications = Record<EmailNotificationKind, boolean>;

/** Everything on but the digest, which a user asks for. */
export const DEFAULT_EMAIL_NOTIFICATIONS: Readonly<EmailNotifications> = Object.freeze({
  post_failed: true,
  account_reconnect_required: true,
  schedule_run_skipped: true,
  webhook_disabled: true,
  weekly_digest: false,
});

export function isEmailNotificationKind(value: unknown): value is EmailNotificationKind {
  return (EMAIL_NOTIFICATION_KINDS as readonly unknown[]).includes(value);
}

/** The switches in effect: the stored choices over the defaults (unknown keys ignored). */
export function effectiveEmailNotifications(
  stored: Partial<Record<string, unknown>> | null | undefined,
): EmailNotifications {
  const effective = { ...DEFAULT_EMAIL_NOTIFICATIONS };
  for (const kind of EMAIL_NOTIFICATION_KINDS) {
    const value = stored?.[kind];
    if (typeof value === 'boolean') effective[kind] = value;
  }
  return effective;
}
