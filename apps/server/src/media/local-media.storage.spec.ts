import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { LocalMediaStorage } from './local-media.storage.js';

describe('LocalMediaStorage streams and prefixes', () => {
  let root: string;
  let storage: LocalMediaStorage;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'media-spec-'));
    storage = new LocalMediaStorage(root);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('putStream writes the whole stream and answers its size', async () => {
    const chunks = [Buffer.alloc(100_000, 1), Buffer.alloc(50_000, 2)];
    const size = await storage.putStream('exports/1/a.zip', Readable.from(chunks));
    expect(size).toBe(150_000);
    expect((await readFile(path.join(root, 'exports/1/a.zip'))).equals(Buffer.concat(chunks))).toBe(
      true,
    );
    const streamed = await storage.readStream('exports/1/a.zip');
    const back: Buffer[] = [];
    for await (const chunk of streamed!) back.push(chunk as Buffer);
    expect(Buffer.concat(back).length).toBe(150_000);
    expect(await storage.readStream('exports/1/missing.zip')).toBeNull();
  });

  it('putStream leaves nothing, not even a temporary file, when the source fails', async () => {
    async function* failing() {
      yield Buffer.alloc(1000);
      throw new Error('source broke');
    }
    await expect(storage.putStream('exports/1/b.zip', Readable.from(failing()))).rejects.toThrow(
      'source broke',
    );
    expect(await readdir(path.join(root, 'exports/1'))).toEqual([]);
  });

  it('deletePrefix removes a folder and nothing beside it, and refuses unsafe prefixes', async () => {
    await storage.put('images/1/2/a.png', Buffer.from('a'));
    await storage.put('images/12/3/b.png', Buffer.from('b'));
    expect((await storage.read('images/1/2/a.png'))?.size).toBe(1);
    await storage.deletePrefix('images/1/');
    expect(await storage.read('images/1/2/a.png')).toBeNull();
    expect((await storage.read('images/12/3/b.png'))?.size).toBe(1);
    await storage.deletePrefix('images/1/');
    for (const unsafe of ['', '/', 'images/1', '../images/', 'images/../', '.hidden/'])
      await expect(storage.deletePrefix(unsafe)).rejects.toThrow(/Unsafe/);
  });
});
