import { expect } from '@jest/globals';
import { JobQueue } from '../../apps/server/src/jobs/job-queue.service.js';
import { JobName } from '../../apps/server/src/jobs/job.types.js';
import type { FakeSmtpServer, ReceivedMail } from '../fakes/smtp-server.js';
import { createTestApp, type TestApp } from './test-app.js';
import { waitFor } from './wait.js';

/** An app that serves the API and runs the worker (which sends the mail) through `smtp`. */
export function createMailApp(
  smtp: FakeSmtpServer | null,
  env: Record<string, string> = {},
): Promise<TestApp> {
  return createTestApp({
    APP_ROLES: 'api,worker',
    ...(smtp ? { SMTP_URL: smtp.url } : {}),
    MAIL_FROM: 'Image Automation <no-reply@example.test>',
    MAIL_RETRY_BACKOFF_MS: '100',
    ...env,
  });
}

/**
 * Resolves once the `mail` queue has nothing waiting, running or delayed: every message asked for
 * so far was sent, refused or recorded. What lets a test say "no mail was sent" without a delay.
 */
export async function mailQueueIdle(app: TestApp): Promise<void> {
  const queue = app.app.get(JobQueue).queueFor(JobName.SendMail);
  await waitFor(
    async () => {
      const counts = await queue.getJobCounts();
      return counts.waiting + counts.active + counts.delayed === 0 ? true : undefined;
    },
    15_000,
    'the mail queue to be idle',
  );
}

/** The one link in the text part that starts with `prefix`. */
export function linkIn(text: string, prefix: string): string {
  const links = text.match(/https?:\/\/\S+/g) ?? [];
  const found = links.filter((link) => link.startsWith(prefix));
  expect(found).toHaveLength(1);
  return found[0];
}

/** A header of a received message as it was sent, unfolded (mailparser parses List-* into objects). */
export function header(message: ReceivedMail, name: string): string | undefined {
  const line = message.parsed.headerLines.find((entry) => entry.key === name.toLowerCase());
  return line?.line
    .slice(line.line.indexOf(':') + 1)
    .replace(/\r?\n[ \t]+/g, ' ')
    .trim();
}

/** The sent-mail log rows of a user, oldest first, every column as stored. */
export async function sentMails(app: TestApp, userId: number): Promise<Record<string, unknown>[]> {
  return (await app.dataSource.query('SELECT * FROM sent_mails WHERE user_id = $1 ORDER BY id', [
    userId,
  ])) as Record<string, unknown>[];
}
