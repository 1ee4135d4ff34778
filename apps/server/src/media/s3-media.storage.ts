import { PassThrough, Readable, Transform } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { MemoryCache, type S3Settings } from '@app/common';
import {
  contentTypeOf,
  isSafeMediaKey,
  isSafeMediaPrefix,
  type MediaFile,
  type MediaStorage,
} from './media-storage.js';

interface Cached {
  file: MediaFile;
  checkedAt: number;
}

export interface S3MediaStorageOptions {
  /** Bytes of object contents kept in memory, least recently read dropped first. */
  cacheBytes?: number;
  /** Larger objects are streamed from the store each time. */
  cacheFileBytes?: number;
  /** How long cached bytes are served before the object's ETag is asked again. */
  revalidateMs?: number;
}

/**
 * Media in an S3-compatible store (AWS S3, MinIO, Cloudflare R2, Ceph; s3rver in the tests), so
 * that every API and worker process, on any machine, reads and writes the same files. Keys are
 * the same as under MEDIA_ROOT. Uploads go through lib-storage's `Upload` (one PUT for a small
 * body, a multipart upload for a large or streamed one, with a bounded memory); reads stream the
 * object's body. As the local storage does, small objects are kept in memory for a second between
 * checks (a publishing burst has every platform fetch the same rendition), and a check is a HEAD
 * comparing the ETag, so a file replaced by another process is seen within a second.
 */
export class S3MediaStorage implements MediaStorage {
  readonly kind = 's3';
  readonly client: S3Client;
  private readonly cache: MemoryCache<Cached>;
  private readonly cacheFileBytes: number;
  private readonly revalidateMs: number;
  /** Counts this process's writes and deletes: a read that saw one happen caches nothing. */
  private writes = 0;

  constructor(
    readonly settings: S3Settings,
    options: S3MediaStorageOptions = {},
  ) {
    this.client = s3Client(settings);
    this.cache = new MemoryCache<Cached>(
      options.cacheBytes ?? 64 * 1024 * 1024,
      (entry) => entry.file.size,
    );
    this.cacheFileBytes = options.cacheFileBytes ?? 2 * 1024 * 1024;
    this.revalidateMs = options.revalidateMs ?? 1000;
  }

  async put(key: string, bytes: Buffer): Promise<void> {
    await this.upload(key, bytes);
  }

  /** A multipart upload, aborted by lib-storage when the source or a part fails: whole or nothing. */
  async putStream(key: string, source: Readable): Promise<number> {
    let size = 0;
    const counted = source.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          callback(null, chunk);
        },
      }),
    );
    source.once('error', (error) => counted.destroy(error));
    await this.upload(key, counted);
    return size;
  }

  /** Every object under `prefix` (a folder: `images/42/`), listed and deleted 1,000 at a time. */
  async deletePrefix(prefix: string): Promise<void> {
    if (!isSafeMediaPrefix(prefix)) throw new Error(`Unsafe media prefix: ${prefix}`);
    this.writes += 1;
    this.cache.deletePrefix(prefix);
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.settings.bucket,
          Prefix: prefix,
          ContinuationToken: token,
        }),
      );
      const keys = (page.Contents ?? []).map((object) => ({ Key: object.Key! }));
      if (keys.length > 0)
        await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.settings.bucket,
            Delete: { Objects: keys, Quiet: true },
          }),
        );
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** The object's body as a stream, past the serving cache (a bulk read); null when missing. */
  async readStream(key: string): Promise<Readable | null> {
    this.check(key);
    try {
      const answer = await this.client.send(
        new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }),
      );
      return answer.Body as Readable;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    this.check(key);
    this.writes += 1;
    this.forget(key);
    // S3 answers 204 for a key that is not there: deleting twice is not an error.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: key }));
  }

  async read(key: string): Promise<MediaFile | null> {
    this.check(key);
    const now = Date.now();
    const cached = this.cache.peek(key);
    if (cached && now - cached.checkedAt < this.revalidateMs) return this.touch(key, cached);
    const writes = this.writes;
    let head;
    try {
      head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.settings.bucket, Key: key }),
      );
    } catch (error) {
      if (isMissing(error)) {
        this.forget(key);
        return null;
      }
      throw error;
    }
    const etag = head.ETag ?? `"${head.ContentLength}-${head.LastModified?.getTime()}"`;
    if (cached && cached.file.etag === etag) {
      cached.checkedAt = now;
      return this.touch(key, cached);
    }
    const described = {
      size: head.ContentLength ?? 0,
      etag,
      modified: head.LastModified ?? new Date(0),
    };
    if (described.size > this.cacheFileBytes)
      return { ...described, stream: () => this.streamOf(key) };
    const bytes = await this.fetch(key, etag);
    if (!bytes) return null;
    const file: MediaFile = {
      ...described,
      size: bytes.length,
      bytes,
      stream: () => Readable.from([bytes]),
    };
    if (writes === this.writes) {
      this.cache.set(key, { file, checkedAt: now });
    }
    return file;
  }

  /** Whether the bucket is there and these credentials may use it (boot and /api/health). */
  async checkBucket(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.settings.bucket }));
  }

  private async upload(key: string, body: Buffer | Readable): Promise<void> {
    this.check(key);
    this.writes += 1;
    this.forget(key);
    await new Upload({
      client: this.client,
      params: {
        Bucket: this.settings.bucket,
        Key: key,
        Body: body,
        ContentType: contentTypeOf(key),
      },
      // 4 parts of 8 MB in flight at most: a streamed upload's memory stays bounded.
      partSize: 8 * 1024 * 1024,
      queueSize: 4,
    }).done();
    this.forget(key);
  }

  /** The object's bytes if it still has that ETag (null if it is gone meanwhile). */
  private async fetch(key: string, etag: string): Promise<Buffer | null> {
    try {
      const answer = await this.client.send(
        new GetObjectCommand({ Bucket: this.settings.bucket, Key: key, IfMatch: etag }),
      );
      return Buffer.from(await answer.Body!.transformToByteArray());
    } catch (error) {
      if (isMissing(error) || statusOf(error) === 412) return null;
      throw error;
    }
  }

  /** A large object's body, fetched when the stream is first read. */
  private streamOf(key: string): Readable {
    const output = new PassThrough();
    this.client
      .send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }))
      .then((answer) => {
        const body = answer.Body as Readable;
        body.on('error', (error) => output.destroy(error));
        body.pipe(output);
      })
      .catch((error: Error) => output.destroy(error));
    return output;
  }

  private touch(key: string, entry: Cached): MediaFile {
    return this.cache.use(key, entry).file;
  }

  private forget(key: string): void {
    this.cache.delete(key);
  }

  /** What is wrong with the store, in one line naming the setting to fix (describeStoreError). */
  describeError(error: unknown): string {
    return describeStoreError(this.settings, error);
  }

  private check(key: string): void {
    if (!isSafeMediaKey(key)) throw new Error(`Unsafe media key: ${key}`);
  }
}

export function s3Client(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    credentials: settings.credentials,
    // Checksums only where the operation requires them: several S3-compatible stores (and
    // s3rver) refuse the SDK's newer default trailing checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
}

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}

function isMissing(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return statusOf(error) === 404 || name === 'NotFound' || name === 'NoSuchKey';
}

/** What is wrong with the store, in one line naming the setting to fix. */
export function describeStoreError(settings: S3Settings, error: unknown): string {
  const where = `${settings.endpoint ?? 'AWS S3'} (S3_ENDPOINT), bucket "${settings.bucket}" (S3_BUCKET)`;
  const status = statusOf(error);
  const name = (error as { name?: string }).name ?? 'Error';
  if (status === 404 || name === 'NotFound' || name === 'NoSuchBucket')
    return `the bucket does not exist at ${where}: create it, or fix S3_BUCKET`;
  if (status === 403 || status === 401)
    return `the store refused these credentials for ${where}: check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY`;
  if (status === 301 || status === 400)
    return `the store answered ${status} (${name}) for ${where}: check S3_REGION and S3_FORCE_PATH_STYLE`;
  return `the store is unreachable at ${where}: ${(error as Error).message || name}`;
}
