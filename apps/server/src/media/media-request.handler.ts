import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { buildProblem, PROBLEM_CONTENT_TYPE } from '@app/common';
import {
  contentTypeOf,
  isSafeMediaKey,
  MEDIA_STORAGE,
  type MediaStorage,
} from './media-storage.js';
import { MediaUrlSigner } from './media-url.signer.js';

/**
 * `GET|HEAD /media/{key}?expires=&signature=`: the signed media URLs that clients display and that
 * the platforms download. Answered straight from the HTTP server's request event, ahead of
 * Express and Nest (body parsing, request logging, routing, guards), from the storage's memory
 * cache: in a publishing burst every post has the platform fetch the image, and through the full
 * pipeline with `sendFile` that cost the `api` process about 3 ms of CPU per download; here it is
 * close to what `node:http` costs alone. Failures are the same problem documents as everywhere
 * else and are logged; successes are not.
 */
@Injectable()
export class MediaRequestHandler {
  private readonly logger = new Logger('Media');

  constructor(
    private readonly signer: MediaUrlSigner,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
  ) {}

  /**
   * Puts the handler in front of the server's request listener (the Express app): media GETs
   * and HEADs are answered here, every other request goes on as before.
   */
  install(server: Server): void {
    const listeners = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      if (
        (request.method === 'GET' || request.method === 'HEAD') &&
        request.url?.startsWith('/media/')
      ) {
        this.serve(request, response).catch((error: Error & { code?: string }) => {
          // A client that hangs up mid-download is not an error of ours.
          if (error.code === 'ERR_STREAM_PREMATURE_CLOSE') return;
          this.logger.error(error.stack ?? error.message);
          if (response.headersSent) response.destroy();
          else
            this.problem(
              response,
              '/media',
              500,
              'internal_error',
              'An unexpected error occurred.',
            );
        });
        return;
      }
      for (const listener of listeners) listener(request, response);
    });
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // The path as the client wrote it (`..` and `%2F` included), never normalised.
    const url = request.url ?? '';
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
    response.setHeader('Content-Type', contentTypeOf(key));
    // An export's archive is saved, not shown.
    if (key.toLowerCase().endsWith('.zip'))
      response.setHeader('Content-Disposition', 'attachment; filename="export.zip"');
    response.setHeader('Content-Length', file.size);
    response.statusCode = 200;
    if (request.method === 'HEAD') {
      response.end();
    } else if (file.bytes) {
      response.end(file.bytes);
    } else {
      // A large file, not kept in memory: streamed with back-pressure, as `send` did.
      await pipeline(file.stream(), response);
    }
  }

  private problem(
    response: ServerResponse,
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
function notModified(request: IncomingMessage, etag: string, modified: Date): boolean {
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
