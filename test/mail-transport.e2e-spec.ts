import { afterAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { newUserFields } from './factories/user.factory.js';
import { openTestDatabase } from './support/database.js';
import { createMailApp, mailQueueIdle, sentMails } from './support/mail.js';
import { ENTRY, freePort, getHealth, killAll, start, waitUntil } from './support/spawn.js';
import { testEnv } from './support/test-env.js';

/** Generous: on a machine shared with other test runs a boot can take far longer than its ~3 s. */
const BOOT_MS = 60_000;

/** Without SMTP_URL: what a developer sees, and what production does. */
describe('mail without SMTP_URL', () => {
  let database: DataSource | undefined;
  afterAll(async () => {
    await killAll();
    await database?.destroy();
  });

  it('writes each message to the log outside production, reset link included', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = await start(
      ENTRY.server,
      [],
      testEnv({
        NODE_ENV: 'development',
        PORT: String(port),
        PUBLIC_BASE_URL: base,
        APP_ROLES: 'api,worker',
        LOG_LEVEL: 'info',
      }),
    );
    await waitUntil(
      async () => ((await getHealth(port)).status === 200 ? true : undefined),
      BOOT_MS,
      server,
    );
    expect(server.stdout).toContain(
      'SMTP_URL is not set: mail is written to the log instead of sent',
    );

    const fields = newUserFields();
    const registered = await fetch(`${base}/api/auth/register/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(fields),
    });
    expect(registered.status).toBe(201);
    const { user } = (await registered.json()) as { user: { id: number } };
    const asked = await fetch(`${base}/api/auth/password-reset/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: fields.email }),
    });
    expect(asked.status).toBe(200);

    const line = await waitUntil(
      async () =>
        server.stdout
          .split('\n')
          .find((entry) =>
            entry.includes(`Mail not sent (SMTP_URL is not set) to ${fields.email}`),
          ),
      BOOT_MS,
      server,
    );
    const message = String((JSON.parse(line) as { msg: string }).msg);
    expect(message).toContain('Reset your Image Automation password');
    expect(message).toMatch(new RegExp(`${base}/reset-password\\?token=[A-Za-z0-9_-]{43}`));

    database = await openTestDatabase();
    const [row] = (await database.query(
      'SELECT status, message_id FROM sent_mails WHERE user_id = $1',
      [user.id],
    )) as { status: string; message_id: string | null }[];
    expect(row).toEqual({ status: 'sent', message_id: null });
  }, 150_000);

  it('sends nothing in production and records the message as skipped', async () => {
    const app = await createMailApp(null, { NODE_ENV: 'production' });
    try {
      expect(app.config.notices).toContainEqual(
        expect.stringMatching(/^SMTP_URL is not set: no mail is sent/),
      );
      const fields = newUserFields();
      const registered = await app.http().post('/api/auth/register/').send(fields).expect(201);
      await app.http().post('/api/auth/password-reset/').send({ email: fields.email }).expect(200);
      const userId = registered.body.user.id as number;
      await waitUntil(
        async () => ((await sentMails(app, userId)).length > 0 ? true : undefined),
        15_000,
      );
      await mailQueueIdle(app);
      expect(await sentMails(app, userId)).toMatchObject([
        {
          kind: 'password_reset',
          status: 'skipped',
          error: 'SMTP_URL is not set: mail is not sent.',
          sent_at: null,
        },
      ]);
    } finally {
      await app.close();
    }
  }, 90_000);
});
