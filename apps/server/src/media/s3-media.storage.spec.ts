import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startS3Server, type TestS3Server } from '../../../../test/fakes/s3-server.js';
import { S3MediaStorage } from './s3-media.storage.js';

describe('S3MediaStorage (against s3rver)', () => {
  let s3: TestS3Server;
  let storage: S3MediaStorage;
  beforeAll(async () => {
    s3 = await startS3Server('spec');
    storage = new S3MediaStorage({
      bucket: 'spec',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
  });
  afterAll(async () => {
    storage?.client.destroy();
    await s3?.close();
  });

  const text = async (stream: Readable | null) => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream!) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };

  it('writes a stream of unknown length in parts and answers its size; reads it back', async () => {
    // 10.5 MB in uneven chunks: a multipart upload of two parts (8 MB at most each).
    const chunks = Array.from({ length: 7 }, (_, i) => Buffer.alloc(1_500_000, i + 1));
    const size = await storage.putStream('exports/1/a.zip', Readable.from(chunks));
    expect(size).toBe(10_500_000);
    expect(
      (await text(await storage.readStream('exports/1/a.zip'))).equals(Buffer.concat(chunks)),
    ).toBe(true);
    const file = await storage.read('exports/1/a.zip');
    expect(file?.size).toBe(10_500_000);
    expect(file?.bytes).toBeUndefined(); // too large for the serving cache: streamed
    expect((await text(file!.stream())).length).toBe(10_500_000);
    expect(await storage.readStream('exports/1/missing.zip')).toBeNull();
    expect(await storage.read('exports/1/missing.zip')).toBeNull();
  });

  it('leaves no object when the source fails midway', async () => {
    async function* failing() {
      yield Buffer.alloc(9_000_000, 1);
      throw new Error('source broke');
    }
    await expect(storage.putStream('exports/1/b.zip', Readable.from(failing()))).rejects.toThrow(
      'source broke',
    );
    expect(await s3.keys()).not.toContain('exports/1/b.zip');
  });

  it('serves a small object from memory until it changes, and sees another writer’s change', async () => {
    await storage.put('images/1/1/a.png', Buffer.from('first'));
    expect((await storage.read('images/1/1/a.png'))?.bytes?.toString()).toBe('first');
    // Another process replaces it: seen at the next check (a second later), by its ETag.
    const other = new S3MediaStorage(storage.settings, { revalidateMs: 0 });
    await other.put('images/1/1/a.png', Buffer.from('second'));
    const fresh = new S3MediaStorage(storage.settings, { revalidateMs: 0 });
    expect((await fresh.read('images/1/1/a.png'))?.bytes?.toString()).toBe('second');
    other.client.destroy();
    fresh.client.destroy();
  });

  it('deletes a prefix and nothing beside it, and refuses unsafe prefixes', async () => {
    await storage.put('images/7/1/a.png', Buffer.from('a'));
    await storage.put('images/7/2/b.png', Buffer.from('b'));
    await storage.put('images/70/1/c.png', Buffer.from('c'));
    await storage.deletePrefix('images/7/');
    const keys = await s3.keys();
    expect(keys.filter((key) => key.startsWith('images/7/'))).toEqual([]);
    expect(keys).toContain('images/70/1/c.png');
    await storage.deletePrefix('images/7/'); // nothing there: not an error
    for (const unsafe of ['', '/', 'images/7', '../images/', '.hidden/'])
      await expect(storage.deletePrefix(unsafe)).rejects.toThrow(/Unsafe/);
  });
});
