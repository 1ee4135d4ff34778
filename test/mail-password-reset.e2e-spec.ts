import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { registerUser, STRONG_PASSWORD } from './factories/user.factory.js';
import { startFakeSmtpServer, type FakeSmtpServer } from './fakes/smtp-server.js';
import { createMailApp, header, linkIn, mailQueueIdle, sentMails } from './support/mail.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';

const NEW_PASSWORD = 'Green-Harbour-Lantern-43';
const freshIp = () => `2001:db8::${randomInt(65536).toString(16)}:${randomInt(65536).toString(16)}`;

describe('password reset by email', () => {
  let smtp: FakeSmtpServer;
  let app: TestApp;
  beforeAll(async () => {
    smtp = await startFakeSmtpServer();
    // One proxy hop trusted: each request may say its own address (the per-address limit is 20).
    app = await createMailApp(smtp, { TRUST_PROXY: '1', RATE_LIMIT_REGISTER_PER_HOUR: '20' });
  });
  afterAll(async () => {
    await app.close();
    await smtp.close();
  });

  const askReset = (email: string, ip = freshIp()) =>
    app.http().post('/api/auth/password-reset/').set('X-Forwarded-For', ip).send({ email });
  const confirm = (token: string, password = NEW_PASSWORD, password2 = password) =>
    app
      .http()
      .post('/api/auth/password-reset/confirm/')
      .send({ token, new_password: password, new_password2: password2 });

  /** Asks for a reset and returns the token of the mail received, and the mail. */
  async function resetMail(email: string) {
    const before = smtp.to(email).length;
    await askReset(email).expect(200);
    const messages = await smtp.waitFor(email, before + 1);
    const message = messages[before];
    const link = linkIn(message.text, 'http://127.0.0.1:3000/reset-password?token=');
    return { message, token: decodeURIComponent(new URL(link).searchParams.get('token')!), link };
  }

  it('mails a link with text and HTML parts that resets the password once, and ends every session', async () => {
    const user = await registerUser(app);
    const { message, token, link } = await resetMail(user.email);

    expect(message.subject).toBe('Reset your Image Automation password');
    expect(message.parsed.from?.value).toEqual([
      { name: 'Image Automation', address: 'no-reply@example.test' },
    ]);
    expect(message.user).toBe('mailer'); // signed in with SMTP_URL's credentials
    expect(message.text).toContain(`account ${user.username}`);
    expect(message.text).toContain(token); // the code, for an app without the link
    expect(message.html).toContain(`href="${link.replaceAll('&', '&amp;')}"`);
    expect(message.html).toContain(user.username);
    // Not a notification: nothing to unsubscribe from.
    expect(header(message, 'List-Unsubscribe')).toBeUndefined();

    // A password the policy refuses: 400 naming it, and the token still works afterwards.
    const weak = await confirm(token, '12345678');
    expectProblem(weak, 400);
    expect(Object.keys(weak.body.errors)).toEqual(['new_password']);
    expectFieldError(await confirm(token, NEW_PASSWORD, `${NEW_PASSWORD}x`), 'new_password2');

    const done = await confirm(token).expect(200);
    expect(done.body).toEqual({ message: expect.any(String) });

    // Every session ends: the old access token and the old refresh token are refused.
    expectProblem(
      await app.http().get('/api/auth/me/').set('Authorization', `Bearer ${user.access}`),
      401,
    );
    expectProblem(
      await app.http().post('/api/auth/token/refresh/').send({ refresh: user.refresh }),
      401,
    );
    await app
      .http()
      .post('/api/auth/login/')
      .send({ username: user.username, password: STRONG_PASSWORD })
      .expect(401);
    await app
      .http()
      .post('/api/auth/login/')
      .send({ username: user.username, password: NEW_PASSWORD })
      .expect(200);

    // Single use.
    expectFieldError(await confirm(token, 'Another-Harbour-Lantern-44'), 'token');
  });

  it('keeps neither the token nor its link in the database: a hash, and a log without them', async () => {
    const user = await registerUser(app);
    const { token } = await resetMail(user.email);
    await mailQueueIdle(app);
    const [row] = await sentMails(app, user.id);
    expect(row).toMatchObject({
      to_address: user.email,
      kind: 'password_reset',
      subject: 'Reset your Image Automation password',
      status: 'sent',
      attempts: 1,
      error: '',
    });
    expect(row.sent_at).toBeInstanceOf(Date);
    const stored = JSON.stringify(
      await app.dataSource.query(
        `SELECT (SELECT json_agg(s) FROM sent_mails s WHERE user_id = $1) AS mails,
                (SELECT json_agg(t) FROM password_reset_tokens t WHERE user_id = $1) AS tokens`,
        [user.id],
      ),
    );
    expect(stored).not.toContain(token);
    expect(stored).toContain('token_hash');
  });

  it('refuses a token older than one hour, and one never issued', async () => {
    const user = await registerUser(app);
    const { token } = await resetMail(user.email);
    await app.dataSource.query(
      `UPDATE password_reset_tokens
          SET created_at = created_at - interval '61 minutes', expires_at = expires_at - interval '61 minutes'
        WHERE user_id = $1`,
      [user.id],
    );
    expectFieldError(await confirm(token), 'token');
    expectFieldError(await confirm('not-a-token-we-issued'), 'token');
    await app
      .http()
      .post('/api/auth/login/')
      .send({ username: user.username, password: STRONG_PASSWORD })
      .expect(200);
  });

  it('answers an unknown address exactly as a known one, and mails nobody', async () => {
    const user = await registerUser(app);
    const known = await askReset(user.email).expect(200);
    const unknownAddress = `nobody_${randomInt(1e9)}@example.com`;
    const unknown = await askReset(unknownAddress).expect(200);
    expect(unknown.body).toEqual(known.body);
    expect(unknown.headers['content-type']).toBe(known.headers['content-type']);
    await smtp.waitFor(user.email);
    await mailQueueIdle(app);
    expect(smtp.to(unknownAddress)).toEqual([]);
  });

  it('mails one account at most 3 times an hour, answering every request alike', async () => {
    const user = await registerUser(app);
    for (let request = 0; request < 5; request++) await askReset(user.email).expect(200);
    await smtp.waitFor(user.email, 3);
    await mailQueueIdle(app);
    expect(smtp.to(user.email)).toHaveLength(3);
  });

  it('limits requests per client address: 429 with Retry-After past the limit', async () => {
    const ip = freshIp();
    for (let request = 0; request < 20; request++)
      await askReset(`nobody_${request}@example.com`, ip).expect(200);
    const refused = await askReset('nobody@example.com', ip);
    expectProblem(refused, 429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(59 * 60);
    expect(retryAfter).toBeLessThanOrEqual(60 * 60);
    await askReset('nobody@example.com', freshIp()).expect(200);
  });

  it('names the field of a bad request', async () => {
    expectFieldError(await app.http().post('/api/auth/password-reset/').send({}), 'email');
    expectFieldError(
      await app.http().post('/api/auth/password-reset/').send({ email: 'not-an-address' }),
      'email',
    );
    expectFieldError(
      await app
        .http()
        .post('/api/auth/password-reset/confirm/')
        .send({ new_password: 'x', new_password2: 'x' }),
      'token',
    );
    expectProblem(
      await app
        .http()
        .post('/api/auth/password-reset/')
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send('email=a%40example.com'),
      415,
    );
  });

  it('retries a message the SMTP server refuses for now, and gives up on one refused for good', async () => {
    const user = await registerUser(app);
    smtp.refuseNext(2, 451, '4.7.1 Greylisted, try again later');
    await resetMail(user.email);
    await mailQueueIdle(app);
    expect(smtp.refused()).toBeGreaterThanOrEqual(2);
    expect(await sentMails(app, user.id)).toMatchObject([
      { status: 'sent', attempts: 3, error: '' },
    ]);

    const refusedUser = await registerUser(app);
    smtp.refuseNext(1, 550, '5.1.1 No such mailbox');
    await askReset(refusedUser.email).expect(200);
    const [row] = await waitForRow(refusedUser.id, 'failed');
    expect(row).toMatchObject({ status: 'failed', attempts: 1 });
    expect(row.error).toContain('No such mailbox');
    expect(smtp.to(refusedUser.email)).toEqual([]);
  });

  const waitForRow = (userId: number, status: string) =>
    waitFor(async () => {
      const rows = await sentMails(app, userId);
      return rows[0]?.status === status ? rows : undefined;
    });
});
