import { createReadStream } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import path from 'node:path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Settings } from '@app/common';
import { isSafeMediaKey } from './media-storage.js';
import { S3MediaStorage } from './s3-media.storage.js';

export interface MediaMigrationResult {
  /** Files uploaded by this run. */
  copied: number;
  /** Files the store already had with the same size (an earlier run copied them). */
  present: number;
  /** Files under MEDIA_ROOT that are no media key (temporary files of a write in progress). */
  ignored: string[];
  /** Keys whose upload failed, with the reason; a run again retries them. */
  failed: { key: string; reason: string }[];
}

const PARALLEL_UPLOADS = 8;

/**
 * `media:migrate --to s3`: copies every media file under MEDIA_ROOT to the store, under the same
 * key, streamed from disk. Idempotent: a key the store already holds with the same size is left
 * alone, so a run that stopped halfway is finished by running it again. Nothing local is deleted:
 * once the processes run with MEDIA_STORAGE=s3, MEDIA_ROOT can be removed by hand.
 */
export async function migrateMediaToS3(
  root: string,
  settings: S3Settings,
  progress: (line: string) => void = () => undefined,
): Promise<MediaMigrationResult> {
  const storage = new S3MediaStorage(settings);
  await storage.checkBucket();
  const result: MediaMigrationResult = { copied: 0, present: 0, ignored: [], failed: [] };
  const keys = walk(root, root, result.ignored);
  const worker = async () => {
    for (;;) {
      const next = await keys.next();
      if (next.done) return;
      const key = next.value;
      try {
        const size = (await stat(path.join(root, key))).size;
        if ((await sizeInStore(storage.client, settings.bucket, key)) === size) {
          result.present += 1;
          continue;
        }
        await storage.putStream(key, createReadStream(path.join(root, key)));
        result.copied += 1;
        if (result.copied % 500 === 0) progress(`copied ${result.copied} file(s)...`);
      } catch (error) {
        result.failed.push({ key, reason: (error as Error).message });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: PARALLEL_UPLOADS }, worker));
  } finally {
    storage.client.destroy();
  }
  return result;
}

/** Relative keys of the files under `dir`, depth first; anything else is noted as ignored. */
async function* walk(root: string, dir: string, ignored: string[]): AsyncGenerator<string> {
  let handle;
  try {
    handle = await opendir(dir);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT' && dir === root) return;
    throw error;
  }
  for await (const entry of handle) {
    const full = path.join(dir, entry.name);
    const key = path.relative(root, full).split(path.sep).join('/');
    if (entry.isDirectory()) yield* walk(root, full, ignored);
    else if (entry.isFile() && isSafeMediaKey(key) && !key.endsWith('.tmp')) yield key;
    else ignored.push(key);
  }
}

async function sizeInStore(client: S3Client, bucket: string, key: string): Promise<number | null> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return head.ContentLength ?? null;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return null;
    throw error;
  }
}
