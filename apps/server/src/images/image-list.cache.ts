import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig, MemoryCache } from '@app/common';
import type { AuthenticatedUser } from '@app/database';
import { MediaUrlSigner } from '../media/media-url.signer.js';

/** One answer of the image list as it was sent: its JSON text and ETag. */
interface CachedAnswer extends ListAnswer {
  /** The user's image-list version it was built at (see migration ImageListVersions). */
  version: string;
  /** The expiry its media URLs carry (MediaUrlSigner.pageExpiry). */
  expires: number;
}

/** The JSON text of an answer and its ETag (none when the HTTP layer makes none). */
export interface ListAnswer {
  body: string;
  etag: string | undefined;
}

/** How the HTTP layer tags a body (Express's compiled `etag fn`). */
export type EtagOf = (body: string, encoding: 'utf8') => string | undefined;

/**
 * The image list's answers, kept in this process's memory and sent again while nothing they show
 * has changed: the same user (and username), the same path and query, the same version of the
 * user's list, and media URLs of the same expiry step. The version comes with the bearer check's
 * row (AuthenticatedUser.imagesVersion), and triggers change it in the transaction of any change
 * to the user's images, their tags or the tags' names, whichever process made it: a list read
 * after a change commits is never answered from memory. So a client polling its list (for a
 * generation's progress, a gallery left open) costs the bearer check alone, not the list's
 * statement, the rows, sixty HMACs and a JSON serialisation. Entries are dropped least recently
 * used first beyond IMAGE_LIST_CACHE_MB; nothing else depends on them (docs/decisions.md).
 */
@Injectable()
export class ImageListCache {
  private readonly answers: MemoryCache<CachedAnswer> | null;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly signer: MediaUrlSigner,
  ) {
    const bytes = config.images.listCacheBytes;
    // A string of n characters holds at most 2n bytes; the key and fields are small beside it.
    this.answers = bytes > 0 ? new MemoryCache(bytes, (answer) => answer.body.length * 2) : null;
  }

  /**
   * The answer to `url` for `user`: the one kept, if still current, or `build`'s (given the
   * page's URL signer) tagged by `etagOf` once, kept for the next request.
   */
  async answer(
    user: AuthenticatedUser,
    url: string,
    build: (sign: (key: string | null) => string | null) => Promise<unknown>,
    etagOf: EtagOf | undefined,
    now = Date.now(),
  ): Promise<ListAnswer> {
    const expires = this.signer.pageExpiry(now);
    const key = `${user.id}\n${user.username}\n${url}`;
    const kept = this.answers?.peek(key);
    if (kept && kept.version === user.imagesVersion && kept.expires === expires) {
      this.answers!.use(key, kept);
      return kept;
    }
    const body = JSON.stringify(await build(this.signer.signerAt(now)));
    const answer = { version: user.imagesVersion, expires, body, etag: etagOf?.(body, 'utf8') };
    this.answers?.set(key, answer);
    return answer;
  }
}
