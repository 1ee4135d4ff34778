import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventConsumers } from '../apps/server/src/events/event-consumers.js';
import {
  type DomainEvent,
  type EventType,
  OWNER_NOTIFIER,
  type OwnerNotifier,
} from '../apps/server/src/events/event.types.js';
import { WeeklyDigest } from '../apps/server/src/mail/weekly-digest.js';
import { bearer, registerUser, type RegisteredUser } from './factories/user.factory.js';
import { startFakeSmtpServer, type FakeSmtpServer } from './fakes/smtp-server.js';
import { createMailApp, header, linkIn, mailQueueIdle, sentMails } from './support/mail.js';
import { expectFieldError, expectProblem } from './support/problem.js';
import type { TestApp } from './support/test-app.js';

const DEFAULT_SWITCHES = {
  post_failed: true,
  account_reconnect_required: true,
  schedule_run_skipped: true,
  webhook_disabled: true,
  weekly_digest: false,
};

/** An event as the outbox hands it to consumers: `data` is the resource as the API shows it. */
function event(type: EventType, userId: number, data: Record<string, unknown>): DomainEvent {
  return { id: randomUUID(), type, userId, occurredAt: new Date(), data };
}

function failedPost(overrides: Record<string, unknown> = {}) {
  return {
    id: 41,
    user: 'someone',
    image: 7,
    account: 3,
    platform: 'instagram',
    scheduled_time: '2026-12-07T08:00:00.000Z',
    caption: 'Harbour at <dawn> & "friends"',
    hashtags: '#sea',
    status: 'failed',
    error_message: 'The platform refused the media',
    error_code: 'platform_rejected',
    ...overrides,
  };
}

describe('email notifications', () => {
  let smtp: FakeSmtpServer;
  let app: TestApp;
  beforeAll(async () => {
    smtp = await startFakeSmtpServer();
    app = await createMailApp(smtp);
  });
  afterAll(async () => {
    await app.close();
    await smtp.close();
  });

  const consume = (domainEvent: DomainEvent) =>
    Promise.all(
      app.app
        .get(EventConsumers)
        .all()
        .map((consumer) => consumer.consume(domainEvent)),
    );
  const patchSwitches = (user: RegisteredUser, switches: Record<string, unknown>) =>
    app
      .http()
      .patch('/api/auth/profile/')
      .set(bearer(user.access))
      .send({ email_notifications: switches });
  const switchesOf = async (user: RegisteredUser) =>
    (await app.http().get('/api/auth/me/').set(bearer(user.access)).expect(200)).body.profile
      .email_notifications as Record<string, boolean>;

  describe('profile switches', () => {
    it('are all on but the digest for a new user, in me/ and profile/', async () => {
      const user = await registerUser(app);
      expect(await switchesOf(user)).toEqual(DEFAULT_SWITCHES);
      const profile = await app
        .http()
        .get('/api/auth/profile/')
        .set(bearer(user.access))
        .expect(200);
      expect(profile.body.email_notifications).toEqual(DEFAULT_SWITCHES);
    });

    it('change one at a time with PATCH, the others keeping their value', async () => {
      const user = await registerUser(app);
      const patched = await patchSwitches(user, { post_failed: false }).expect(200);
      expect(patched.body.email_notifications).toEqual({ ...DEFAULT_SWITCHES, post_failed: false });
      await patchSwitches(user, { weekly_digest: true }).expect(200);
      expect(await switchesOf(user)).toEqual({
        ...DEFAULT_SWITCHES,
        post_failed: false,
        weekly_digest: true,
      });
      // A PATCH of other fields leaves them alone.
      await app
        .http()
        .patch('/api/auth/profile/')
        .set(bearer(user.access))
        .send({ bio: 'Hi' })
        .expect(200);
      expect((await switchesOf(user)).weekly_digest).toBe(true);
    });

    it('refuse unknown switches, values that are not booleans and a value that is not an object', async () => {
      const user = await registerUser(app);
      expectFieldError(
        await patchSwitches(user, { newsletter: true }),
        'email_notifications.newsletter',
      );
      expectFieldError(
        await patchSwitches(user, { post_failed: 'no' }),
        'email_notifications.post_failed',
      );
      expectFieldError(
        await patchSwitches(user, { post_failed: null }),
        'email_notifications.post_failed',
      );
      expectFieldError(
        await app
          .http()
          .patch('/api/auth/profile/')
          .set(bearer(user.access))
          .send({ email_notifications: [true] }),
        'email_notifications',
      );
      expect(await switchesOf(user)).toEqual(DEFAULT_SWITCHES);
    });
  });

  describe('events', () => {
    it('mail the owner once about a failed post, with text, HTML and one-click unsubscribe headers', async () => {
      const user = await registerUser(app);
      const failed = event('post.failed', user.id, failedPost());
      // The outbox delivers at least once: the same event twice is one mail.
      await consume(failed);
      await consume(failed);
      const [message] = await smtp.waitFor(user.email);
      await mailQueueIdle(app);
      expect(smtp.to(user.email)).toHaveLength(1);

      expect(message.subject).toBe('Your Instagram post failed');
      expect(message.text).toContain('Reason: The platform refused the media (platform_rejected)');
      expect(message.text).toContain('Caption: Harbour at <dawn> & "friends"');
      expect(message.text).toContain('Monday 7 December 2026, 08:00 (UTC)');
      // User values are escaped in the HTML part.
      expect(message.html).toContain('Harbour at &lt;dawn&gt; &amp; &quot;friends&quot;');
      expect(message.html).not.toContain('<dawn>');

      const listUnsubscribe = header(message, 'List-Unsubscribe');
      expect(listUnsubscribe).toMatch(
        /^<http:\/\/127\.0\.0\.1:3000\/api\/mail\/unsubscribe\/\?token=[^>]+>$/,
      );
      expect(header(message, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
      const url = listUnsubscribe!.slice(1, -1);
      expect(linkIn(message.text, 'http://127.0.0.1:3000/api/mail/unsubscribe/')).toBe(url);
      expect(message.html).toContain(`href="${url}"`);

      expect(await sentMails(app, user.id)).toMatchObject([
        { kind: 'post_failed', status: 'sent', dedupe_key: `event:${failed.id}` },
      ]);
    });

    it('say so when the outcome of a post is unknown', async () => {
      const user = await registerUser(app);
      await consume(
        event(
          'post.failed',
          user.id,
          failedPost({
            platform: 'twitter',
            error_code: 'outcome_unknown',
            error_message: 'No answer',
          }),
        ),
      );
      const [message] = await smtp.waitFor(user.email);
      expect(message.subject).toBe('We could not confirm your X post');
      expect(message.text).toContain('could not confirm that it was published');
    });

    it('mail an account to reconnect and a skipped run, in the user’s time zone', async () => {
      const user = await registerUser(app);
      await app
        .http()
        .patch('/api/auth/profile/')
        .set(bearer(user.access))
        .send({ timezone: 'Europe/Paris' })
        .expect(200);
      await consume(
        event('account.reconnect_required', user.id, {
          id: 12,
          platform: 'linkedin',
          account_id: 'urn:li:person:abc',
          display_name: 'Alice Pro',
          status: 'reconnect_required',
        }),
      );
      await consume(
        event('schedule.run_skipped', user.id, {
          id: 5,
          name: 'Morning harbour',
          next_run_at: '2026-12-08T08:00:00.000Z',
          recent_runs: [
            {
              id: 90,
              schedule: 5,
              occurrence_at: '2026-12-07T08:00:00.000Z',
              outcome: 'skipped',
              reason: 'No validated image carries one of the tags',
            },
          ],
        }),
      );
      const messages = await smtp.waitFor(user.email, 2);
      const reconnect = messages.find((message) => message.subject.startsWith('Reconnect'))!;
      expect(reconnect.subject).toBe('Reconnect your LinkedIn account Alice Pro');
      expect(reconnect.text).toContain('account Alice Pro (account #12)');
      const skipped = messages.find((message) => message.subject.startsWith('A run'))!;
      expect(skipped.subject).toBe('A run of your schedule "Morning harbour" was skipped');
      expect(skipped.text).toContain('Reason: No validated image carries one of the tags');
      expect(skipped.text).toContain('Monday 7 December 2026, 09:00 (Europe/Paris)');
      expect(skipped.text).toContain('Tuesday 8 December 2026, 09:00 (Europe/Paris)');
    });

    it('mail nothing when the switch is off, and nothing for events that are not notifications', async () => {
      const user = await registerUser(app);
      await patchSwitches(user, { post_failed: false, schedule_run_skipped: false }).expect(200);
      await consume(event('post.failed', user.id, failedPost()));
      await consume(
        event('schedule.run_skipped', user.id, { id: 1, name: 'S', next_run_at: null }),
      );
      await consume(event('post.published', user.id, failedPost({ status: 'posted' })));
      await consume(
        event('account.reconnect_required', user.id, { id: 1, platform: 'x', display_name: 'Me' }),
      );
      await smtp.waitFor(user.email);
      await mailQueueIdle(app);
      expect(smtp.to(user.email).map((message) => message.subject)).toEqual([
        'Reconnect your x account Me',
      ]);
    });

    it('mail the owner of a disabled webhook endpoint through the owner notifier', async () => {
      const user = await registerUser(app);
      const notifier = app.app.get<OwnerNotifier>(OWNER_NOTIFIER);
      await notifier.webhookDisabled(
        user.id,
        { id: 3, url: 'https://hooks.example.com/in?x=<y>' },
        'The last 20 deliveries failed',
      );
      const [message] = await smtp.waitFor(user.email);
      expect(message.subject).toBe('Your webhook endpoint was disabled');
      expect(message.text).toContain('https://hooks.example.com/in?x=<y>');
      expect(message.text).toContain('Reason: The last 20 deliveries failed');
      expect(message.html).toContain('https://hooks.example.com/in?x=&lt;y&gt;');
      expect(header(message, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    });
  });

  describe('one-click unsubscribe (RFC 8058)', () => {
    async function unsubscribeUrl(user: RegisteredUser): Promise<string> {
      await consume(event('post.failed', user.id, failedPost()));
      const [message] = await smtp.waitFor(user.email);
      const url = new URL(header(message, 'List-Unsubscribe')!.slice(1, -1));
      return `${url.pathname}${url.search}`;
    }

    it('turns the switch off with a form POST and no sign-in', async () => {
      const user = await registerUser(app);
      const path = await unsubscribeUrl(user);
      const answer = await app
        .http()
        .post(path)
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send('List-Unsubscribe=One-Click')
        .expect(200);
      expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(answer.text).toContain('You are unsubscribed');
      expect(await switchesOf(user)).toEqual({ ...DEFAULT_SWITCHES, post_failed: false });
      // Again: the same answer, nothing else changes.
      await app
        .http()
        .post(path)
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send('List-Unsubscribe=One-Click')
        .expect(200);
      // And then no more such mail.
      await consume(event('post.failed', user.id, failedPost()));
      await mailQueueIdle(app);
      expect(smtp.to(user.email)).toHaveLength(1);
    });

    it('shows a confirmation page on GET and changes nothing until its button posts', async () => {
      const user = await registerUser(app);
      const path = await unsubscribeUrl(user);
      const page = await app.http().get(path).expect(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['content-security-policy']).toContain("default-src 'none'");
      expect(page.text).toContain('Stop failed post emails?');
      expect(page.text).toMatch(
        /<form method="post" action="\/api\/mail\/unsubscribe\/\?token=[^"]+">/,
      );
      expect(page.text).toContain('name="List-Unsubscribe" value="One-Click"');
      expect(await switchesOf(user)).toEqual(DEFAULT_SWITCHES);
    });

    it('refuses a token that is not ours, one changed to another switch, and a POST without One-Click', async () => {
      const user = await registerUser(app);
      const path = await unsubscribeUrl(user);
      const token = new URL(path, 'http://x').searchParams.get('token')!;
      const post = (query: string, body = 'List-Unsubscribe=One-Click') =>
        app
          .http()
          .post(`/api/mail/unsubscribe/${query}`)
          .set('Content-Type', 'application/x-www-form-urlencoded')
          .send(body);
      expectFieldError(await post('?token=1.post_failed.abc'), 'token');
      expectFieldError(
        await post(`?token=${token.replace('post_failed', 'weekly_digest')}`),
        'token',
      );
      expectFieldError(await post(`?token=${token.replace(/^\d+/, String(user.id + 1))}`), 'token');
      expectFieldError(await post(''), 'token');
      expectFieldError(await app.http().get('/api/mail/unsubscribe/?token=nope'), 'token');
      expectFieldError(await post(`?token=${token}`, 'List-Unsubscribe=Yes'), 'List-Unsubscribe');
      expectProblem(
        await app
          .http()
          .post(`/api/mail/unsubscribe/?token=${token}`)
          .set('Content-Type', 'text/plain')
          .send('x'),
        415,
      );
      expect(await switchesOf(user)).toEqual(DEFAULT_SWITCHES);
    });

    it('parses form bodies on that route only', async () => {
      const user = await registerUser(app);
      expectProblem(
        await app
          .http()
          .patch('/api/auth/profile/')
          .set(bearer(user.access))
          .set('Content-Type', 'application/x-www-form-urlencoded')
          .send('bio=hello'),
        415,
      );
    });
  });

  describe('weekly digest', () => {
    /** A post published at `postedAt` with its metrics, written as the publisher would leave it. */
    async function publishedPost(
      userId: number,
      postedAt: string,
      metrics: { likes: number; comments: number; shares: number; views: number; rate: number },
      caption: string,
    ) {
      const [{ id }] = (await app.dataSource.query(
        `INSERT INTO scheduled_posts (user_id, platform, caption, scheduled_time, status, posted_at, platform_post_url)
         VALUES ($1, 'instagram', $2, $3, 'posted', $3, 'https://www.instagram.com/p/abc/') RETURNING id`,
        [userId, caption, postedAt],
      )) as [{ id: number }];
      await app.dataSource.query(
        `INSERT INTO post_analytics (scheduled_post_id, platform, likes, comments, shares, views, engagement_rate, last_synced_at)
         VALUES ($1, 'instagram', $2, $3, $4, $5, $6, now())`,
        [id, metrics.likes, metrics.comments, metrics.shares, metrics.views, metrics.rate],
      );
    }

    it('mails each opted-in user last week’s posts and how they did, once per week, in their time zone', async () => {
      const digest = app.app.get(WeeklyDigest);
      const reader = await registerUser(app, { first_name: 'Zoé' });
      await app
        .http()
        .patch('/api/auth/profile/')
        .set(bearer(reader.access))
        .send({ timezone: 'Asia/Tokyo', email_notifications: { weekly_digest: true } })
        .expect(200);
      const notOptedIn = await registerUser(app);
      // Monday 7 December 2026 in Tokyo: the week is 30 November to 6 December, local.
      await publishedPost(
        reader.id,
        '2026-12-01T03:00:00Z',
        { likes: 10, comments: 2, shares: 1, views: 300, rate: 4.33 },
        'Tuesday <harbour>',
      );
      await publishedPost(
        reader.id,
        '2026-12-05T10:00:00Z',
        { likes: 5, comments: 0, shares: 0, views: 100, rate: 5 },
        'Saturday boats',
      );
      // 6 December 16:00 UTC is 7 December 01:00 in Tokyo: next week's.
      await publishedPost(
        reader.id,
        '2026-12-06T16:00:00Z',
        { likes: 99, comments: 9, shares: 9, views: 999, rate: 20 },
        'Too late',
      );
      await publishedPost(
        notOptedIn.id,
        '2026-12-02T03:00:00Z',
        { likes: 1, comments: 0, shares: 0, views: 1, rate: 1 },
        'Not asked',
      );

      // Monday 07:30 in Tokyo (22:30 UTC on Sunday): not yet.
      await digest.tick(new Date('2026-12-06T22:30:00Z'));
      await mailQueueIdle(app);
      expect(smtp.to(reader.email)).toEqual([]);

      // Monday 08:30 in Tokyo: due. The next hour's tick, and a replica's, send nothing more.
      await digest.tick(new Date('2026-12-06T23:30:00Z'));
      const [message] = await smtp.waitFor(reader.email);
      await digest.tick(new Date('2026-12-07T00:30:00Z'));
      await digest.tick(new Date('2026-12-07T00:30:00Z'));
      await mailQueueIdle(app);
      expect(smtp.to(reader.email)).toHaveLength(1);
      expect(smtp.to(notOptedIn.email)).toEqual([]);

      expect(message.subject).toBe('Your week on Image Automation: 2 post(s) published');
      expect(message.text).toContain('Hello Zoé,');
      expect(message.text).toContain('Your week from 30 November 2026 to 6 December 2026');
      expect(message.text).toContain('Likes: 15  Comments: 2  Shares: 1  Views: 400');
      expect(message.text).toContain(
        'Instagram, Tuesday 1 December 2026, 12:00 (Asia/Tokyo): Tuesday <harbour>',
      );
      expect(message.text).toContain('5 likes, 0 comments, 0 shares, 100 views, engagement 5.00%');
      expect(message.text).not.toContain('Too late');
      // Most engaging first.
      expect(message.text.indexOf('Saturday boats')).toBeLessThan(
        message.text.indexOf('Tuesday <harbour>'),
      );
      expect(message.html).toContain('Tuesday &lt;harbour&gt;');
      expect(message.html).toContain('href="https://www.instagram.com/p/abc/"');
      expect(header(message, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
      expect(await sentMails(app, reader.id)).toMatchObject([
        {
          kind: 'weekly_digest',
          status: 'sent',
          dedupe_key: `weekly-digest:${reader.id}:2026-11-30`,
        },
      ]);
    });
  });
});
