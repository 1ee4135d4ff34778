import { Inject, Injectable, Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { buildProblem, PROBLEM_CONTENT_TYPE } from '@app/common';
import { isSafeMediaKey, MEDIA_STORAGE, type MediaStorage } from './media-storage.js';
import { MediaUrlSigner } from './media-url.signer.js';

/** Extensions the app writes (renditions, thumbnails, masters, avatars). */
const CONTENT_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
};

/**
 * `GET|HEAD /media/{key}?expires=&signature=`: the signed media URLs that clients display and that
 * the platforms download. A plain Express handler mounted ahead of Nest's pipeline (body parsing,
 * request logging, the router, guards), and answered from the storage's memory cache: in a
 * publishing burst every post has the platform fetch the image, and through the full pipeline
 * with `sendFile` this cost the `api` process about 3 ms of CPU per fetch. Failures are the same
 * problem documents as everywhere else; they are logged, successes are not.
 */
@Injectable()
export class MediaRequestHandler {
  private readonly logger = new Logger('Media');

  constructor(
    private readonly signer: MediaUrlSigner,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
  ) {}

  /** The Express middleware, for `app.use('/media', ...)`. */
  readonly handle = (request: Request, response: Response, next: NextFunction): void => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return next();
    this.serve(request, response).catch(next);
  };

  private async serve(request: Request, response: Response): Promise<void> {
    // originalUrl: the path as the client wrote it (`..` and `%2F` included), never normalised.
    const url = request.originalUrl;
    const queryAt = url.indexOf('?');
    const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
    const query = new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt + 1));
    const key = keyOf(pathname);
    if (
      key === undefined ||
      !isSafeMediaKey(key) ||
      !this.signer.isValid(
        key,
        query.get('expires') ?? undefined,
        query.get('signature') ?? undefined,
      )
    ) {
      return this.problem(
        response,
        pathname,
        403,
        'invalid_signature',
        'This media URL is unsigned, altered or expired.',
      );
    }
    const file = await this.storage.read(key);
    if (!file) {
      return this.problem(
        response,
        pathname,
        404,
        'not_found',
        'No media file matches the given query.',
      );
    }
    const maxAge = Math.max(0, Number(query.get('expires')) - Math.floor(Date.now() / 1000));
    response.setHeader('Cache-Control', `private, max-age=${maxAge}`);
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('ETag', file.etag);
    response.setHeader('Last-Modified', file.modified.toUTCString());
    if (notModified(request, file.etag, file.modified)) {
      response.statusCode = 304;
      response.end();
      return;
    }
    const extension = key.slice(key.lastIndexOf('.') + 1).toLowerCase();
    response.setHeader('Content-Type', CONTENT_TYPES[extension] ?? 'application/octet-stream');
    response.setHeader('Content-Length', file.bytes.length);
    response.statusCode = 200;
    response.end(request.method === 'HEAD' ? undefined : file.bytes);
  }

  private problem(
    response: Response,
    instance: string,
    status: number,
    code: string,
    detail: string,
  ): void {
    this.logger.log(`${status} for ${instance}: ${code}`);
    const body = JSON.stringify(buildProblem(status, code, detail, undefined, instance));
    response.statusCode = status;
    response.setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
    response.setHeader('Content-Length', Buffer.byteLength(body));
    response.end(body);
  }
}

/** The key after `/media/`, each segment percent-decoded; undefined when it cannot be decoded. */
function keyOf(pathname: string): string | undefined {
  if (!pathname.startsWith('/media/')) return undefined;
  try {
    return pathname.slice('/media/'.length).split('/').map(decodeURIComponent).join('/');
  } catch {
    return undefined;
  }
}

/** A conditional GET the client's copy already satisfies (RFC 9110 §13.1.2 and §13.1.3). */
function notModified(request: Request, etag: string, modified: Date): boolean {
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const weak = (tag: string) => tag.trim().replace(/^W\//, '');
    return (
      ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((tag) => weak(tag) === weak(etag))
    );
  }
  const since = Date.parse(request.headers['if-modified-since'] ?? '');
  return !Number.isNaN(since) && Math.floor(modified.getTime() / 1000) * 1000 <= since;
}
