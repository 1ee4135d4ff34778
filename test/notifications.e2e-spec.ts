import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as graphFake from './fakes/graph.fake.js';
import { type FakeSmtpServer, startFakeSmtpServer } from './fakes/smtp-server.js';
import { startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.js';
import {
  connectAccount,
  inSeconds,
  userWithValidatedImage,
  waitForPostStatus,
} from './factories/post.factory.js';
import { schedulePost } from './factories/scheduling.js';
import { bearer, type RegisteredUser } from './factories/user.factory.js';
import { createMailApp, header } from './support/mail.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait.js';

/**
 * The three parts of issue 15 together, with nothing called by hand: a post fails on the
 * platform; the publisher records the events with the change; the outbox hands them to the
 * webhook fan-out and to the email notifications; the owner's endpoint receives a signed
 * `post.failed` and the owner's mailbox the two notifications.
 */
describe('a failed post reaches its owner by webhook and by email', () => {
  let graph: graphFake.GraphFake;
  let smtp: FakeSmtpServer;
  let receiver: WebhookReceiver;
  let app: TestApp;
  let user: RegisteredUser;
  let imageId: number;

  beforeAll(async () => {
    graph = await graphFake.start();
    smtp = await startFakeSmtpServer();
    receiver = await startWebhookReceiver();
    app = await createMailApp(smtp, {
      IMAGE_PROVIDER: 'local',
      INSTAGRAM_GRAPH_URL: graph.graphUrl,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    });
    ({ user, imageId } = await userWithValidatedImage(app));
  });
  afterAll(async () => {
    await app.close();
    await receiver.close();
    await smtp.close();
    await graph.close();
  });

  it('sends the signed post.failed event and mails the failure and the reconnection', async () => {
    const endpoint = await app
      .http()
      .post('/api/webhooks/')
      .set(bearer(user.access))
      .send({ url: `${receiver.url}/hooks`, events: ['post.failed'] })
      .expect(201);
    receiver.secrets.push(endpoint.body.secret as string);
    const account = await connectAccount(app, user, {
      platform: 'instagram',
      account_id: graph.igUserId,
      access_token: graphFake.EXPIRED_TOKEN,
    });
    const scheduled = await schedulePost(app, user, {
      image: imageId,
      platform: 'instagram',
      account,
      scheduled_time: inSeconds(1),
      caption: 'Harbour at dawn',
    }).expect(201);
    const postId = scheduled.body.post.id as number;
    const failed = await waitForPostStatus(app, user, postId, ['posted', 'failed']);
    expect(failed).toMatchObject({ status: 'failed', error_code: 'reconnect_required' });

    const [delivery] = await waitFor(
      async () => (receiver.received.length > 0 ? receiver.received : undefined),
      20_000,
      'the webhook',
    );
    expect(delivery.body).toMatchObject({
      type: 'post.failed',
      data: { id: postId, status: 'failed', error_code: 'reconnect_required' },
    });
    expect(delivery.verifiedWith).toEqual([endpoint.body.secret]);
    // Only the subscribed type: the account's reconnect_required event went to email alone.
    expect(receiver.received.map((received) => received.body.type)).toEqual(['post.failed']);

    const mails = await smtp.waitFor(user.email, 2);
    const subjects = mails.map((mail) => mail.subject).sort();
    expect(subjects[0]).toMatch(/^Reconnect your Instagram account/);
    expect(subjects[1]).toBe('Your Instagram post failed');
    for (const mail of mails) {
      expect(header(mail, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    }
  }, 60_000);
});
