import { readdirSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import * as graphFake from './fakes/graph.fake.js';
import { startS3Server, type TestS3Server } from './fakes/s3-server.js';
import { connectAccount, userWithValidatedImage } from './factories/post.factory.js';
import { schedulePost, tally } from './factories/scheduling.js';
import { bearer, newUserFields, type RegisteredUser } from './factories/user.factory.js';
import { dropScratchDatabase, migratedScratchDatabase } from './support/scratch-database.js';
import { ENTRY, freePort, killAll, type Spawned, start, waitUntil } from './support/spawn.js';
import { testEnv } from './support/test-env.js';
import { waitFor } from './support/wait.js';

const BOOT_MS = 40_000;

/** One process of the deployment: its role, its address (API nodes) and its own MEDIA_ROOT. */
interface Node {
  name: string;
  process: Spawned;
  mediaRoot: string;
  url?: string;
  http: () => ReturnType<typeof request>;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name);
}

/**
 * The deployment of docs/deployment.md, in small: two API processes and two workers (one with the
 * scheduler role), each a real `node dist/.../main.js` on its own port with its own empty
 * MEDIA_ROOT, sharing only PostgreSQL, Redis and an S3-compatible store (s3rver). What one node
 * does, the others see; what one node counts, the others count; a node that dies loses nothing.
 */
describe('several nodes sharing PostgreSQL, Redis and the store', () => {
  let s3: TestS3Server;
  let fake: graphFake.GraphFake;
  let databaseUrl: string;
  const prefix = `test-nodes-${randomInt(1e9)}`;
  let a: Node;
  let b: Node;
  let w1: Node;
  let w2: Node;
  let user: RegisteredUser;
  let imageId: number;

  async function startNode(name: string, roles: string, env: Record<string, string>) {
    const settings = testEnv({
      ...s3.env,
      APP_ROLES: roles,
      DATABASE_URL: databaseUrl,
      REDIS_PREFIX: prefix,
      IMAGE_PROVIDER: 'local',
      INSTAGRAM_GRAPH_URL: fake.graphUrl,
      FACEBOOK_GRAPH_URL: fake.graphUrl,
      ADMIN_ENABLED: 'false',
      LOG_LEVEL: 'info',
      // Behind "the load balancer": the client address comes from X-Forwarded-For.
      TRUST_PROXY: '1',
      LOGIN_MAX_FAILURES: '3',
      RATE_LIMIT_REGISTER_PER_HOUR: '4',
      // A dead worker's posts come back within seconds, not minutes.
      JOB_LOCK_DURATION_MS: '1000',
      PUBLISH_LEASE: '3s',
      PUBLISH_RETRY_BACKOFF_MS: '200',
      PUBLISH_WORKER_CONCURRENCY: '3',
      ...env,
    });
    const child = await start(ENTRY.server, [], settings);
    const url = roles.includes('api') ? settings.PUBLIC_BASE_URL : undefined;
    return {
      name,
      process: child,
      mediaRoot: settings.MEDIA_ROOT,
      url,
      http: () => {
        if (!url) throw new Error(`${name} serves no HTTP`);
        return request(url);
      },
    } satisfies Node;
  }

  const ready = (node: Node) =>
    waitUntil(
      async () =>
        node.process.stdout.includes('Serving roles') ||
        node.process.stdout.includes('Running roles')
          ? true
          : undefined,
      BOOT_MS,
      node.process,
    );

  beforeAll(async () => {
    [s3, fake, databaseUrl] = await Promise.all([
      startS3Server(),
      graphFake.start(),
      migratedScratchDatabase('image_automation_nodes'),
    ]);
    fake.setProcessingPolls(0);
    const [portA, portB] = [await freePort(), await freePort()];
    const lb = `http://127.0.0.1:${portB}`;
    [a, b, w1, w2] = await Promise.all([
      startNode('api-a', 'api', {
        PORT: String(portA),
        PUBLIC_BASE_URL: `http://127.0.0.1:${portA}`,
      }),
      startNode('api-b', 'api', { PORT: String(portB), PUBLIC_BASE_URL: lb }),
      // The workers sign the media URLs the platforms fetch with the public address.
      startNode('worker-1', 'worker', { PUBLIC_BASE_URL: lb }),
      startNode('worker-2', 'worker,scheduler', { PUBLIC_BASE_URL: lb }),
    ]);
    await Promise.all([a, b, w1, w2].map(ready));
  }, 90_000);

  afterAll(async () => {
    await killAll();
    await fake?.close();
    await s3?.close();
    if (databaseUrl) await dropScratchDatabase(databaseUrl);
  });

  it('serves through one node the image generated through the other, from the store', async () => {
    // Registered and generated through A (a worker renders it); read, signed and served by B.
    ({ user, imageId } = await userWithValidatedImage(a));
    const { body: fromB } = await b
      .http()
      .get(`/api/images/${imageId}/`)
      .set(bearer(user.access))
      .expect(200);
    expect(fromB.status).toBe('validated');
    expect(fromB.image_url_display.startsWith(b.url!)).toBe(true);
    const { body: fromA } = await a
      .http()
      .get(`/api/images/${imageId}/`)
      .set(bearer(user.access))
      .expect(200);

    const key = decodeURIComponent(new URL(fromB.image_url_display).pathname.slice(7));
    const stored = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    const inStore = Buffer.from(await stored.Body!.transformToByteArray());
    for (const url of [fromA.image_url_display, fromB.image_url_display]) {
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(inStore)).toBe(true);
    }
    // A URL signed by one node is valid on the other: one signing key, no node-local state.
    const crossed = fromA.image_url_display.replace(a.url!, b.url!);
    expect((await fetch(crossed)).status).toBe(200);
    for (const node of [a, b, w1, w2]) expect(filesUnder(node.mediaRoot)).toEqual([]);
  }, 60_000);

  it('counts sign-in failures and registrations in Redis: the limits hold across both API nodes', async () => {
    const ip = '203.0.113.77';
    // Three failures, alternating nodes; the fourth attempt is refused even with the right password.
    await a
      .http()
      .post('/api/auth/login/')
      .set('X-Forwarded-For', ip)
      .send({ username: user.username, password: 'wrong-1' })
      .expect(401);
    await b
      .http()
      .post('/api/auth/login/')
      .set('X-Forwarded-For', ip)
      .send({ username: user.username, password: 'wrong-2' })
      .expect(401);
    await a
      .http()
      .post('/api/auth/login/')
      .set('X-Forwarded-For', ip)
      .send({ username: user.username, password: 'wrong-3' })
      .expect(401);
    const refused = await b
      .http()
      .post('/api/auth/login/')
      .set('X-Forwarded-For', ip)
      .send({ username: user.username, password: user.password })
      .expect(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);

    // RATE_LIMIT_REGISTER_PER_HOUR=4 per address, whichever node takes the request.
    const other = '203.0.113.78';
    const register = (node: Node) =>
      node.http().post('/api/auth/register/').set('X-Forwarded-For', other).send(newUserFields());
    for (const node of [a, b, a, b]) await register(node).expect(201);
    const fifth = await register(a).expect(429);
    expect(Number(fifth.headers['retry-after'])).toBeGreaterThan(0);
    await register(b).expect(429);
  });

  it('publishes each post once, whichever worker claims it, and loses nothing when a worker is killed', async () => {
    await connectAccount({ http: () => b.http() }, user, {
      platform: 'instagram',
      account_id: fake.igUserId,
      access_token: fake.token,
    });
    // Every container creation hangs 4 s: the six posts are all in flight at once, three in
    // each worker (PUBLISH_WORKER_CONCURRENCY=3), when worker 1 is killed.
    for (let i = 0; i < 6; i++) fake.delay('media', 4000);
    const captions = Array.from({ length: 6 }, (_, index) => `Node post ${index + 1}`);
    const at = new Date(Date.now() + 1000).toISOString();
    const ids: number[] = [];
    for (const [index, caption] of captions.entries()) {
      const node = index % 2 === 0 ? a : b;
      const { body } = await schedulePost({ http: () => node.http() }, user, {
        image: imageId,
        platform: 'instagram',
        scheduled_time: at,
        caption,
      }).expect(201);
      ids.push(body.post.id as number);
    }
    await waitFor(async () => ((fake.calls.media ?? 0) >= 6 ? true : undefined), 20_000, 'six');
    w1.process.child.kill('SIGKILL');
    await w1.process.waitForExit(5000);
    // And an API node: B answers alone from now on.
    a.process.child.kill('SIGKILL');
    await a.process.waitForExit(5000);

    const settled = await waitFor(
      async () => {
        const { body } = await b
          .http()
          .get('/api/scheduler/posts/?page_size=100')
          .set(bearer(user.access))
          .expect(200);
        const mine = body.results.filter((post: { id: number }) => ids.includes(post.id));
        return mine.every((post: { status: string }) => post.status === 'posted')
          ? mine
          : undefined;
      },
      60_000,
      'every post to be posted',
    );
    expect(settled).toHaveLength(6);
    // Worker 1 held three of them (at most three run in each worker): they were started again
    // by worker 2 once their lease ran out, so the platform saw nine container creations.
    expect(fake.calls.media).toBeGreaterThanOrEqual(9);
    // Once each: six media on the platform, one per caption, each the post's own.
    expect(Object.fromEntries(tally(fake.media.map((media) => media.caption)))).toEqual(
      Object.fromEntries(captions.map((caption) => [caption, 1])),
    );
    for (const post of settled as { caption: string; platform_post_id: string }[])
      expect(post.platform_post_id).toBe(
        fake.media.find((media) => media.caption === post.caption)?.id,
      );
    // The platform fetched the image through the public address (node B) from the store.
    for (const container of fake.containers.values())
      expect(container.imageUrl.startsWith(b.url!)).toBe(true);
    expect(w2.process.isRunning).toBe(true);
    for (const node of [b, w2]) expect(filesUnder(node.mediaRoot)).toEqual([]);
  }, 90_000);
});
