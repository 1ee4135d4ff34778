import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/common';

/** Absolute media URLs that carry an HMAC of their path and expiry; nothing else is served. */
@Injectable()
export class MediaUrlSigner {
  /** Made once: an HMAC keyed by a KeyObject skips importing the raw key on every signature. */
  private readonly key: KeyObject;
  private readonly prefix: string;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.key = createSecretKey(Buffer.from(config.media.signingKey));
    this.prefix = `${config.publicBaseUrl}/media/`;
  }

  sign(key: string, ttlSeconds = this.config.media.urlTtlSeconds, now = Date.now()): string {
    const expires = Math.floor(now / 1000) + ttlSeconds;
    return `${this.prefix}${key}?expires=${expires}&signature=${this.signatureOf(key, expires)}`;
  }

  /**
   * An answer's media URL: the expiry of signerAt() (MEDIA_URL_TTL rounded up to its step), so
   * the same object answered twice within a step carries the same URL, whichever endpoint.
   */
  signOrNull(key: string | null): string | null {
    return key ? this.signerAt()(key) : null;
  }

  /**
   * signOrNull() for a page: one expiry for all its URLs (a list signs three per image), rounded
   * up to a step of a twelfth of MEDIA_URL_TTL (at most five minutes), so the URLs live between
   * MEDIA_URL_TTL and one step more. Within a step a page's URLs are the same bytes: browsers
   * keep the images they fetched, and ImageListCache can answer the page again from memory.
   */
  signerAt(now = Date.now()): (key: string | null) => string | null {
    const expires = this.pageExpiry(now);
    const suffix = `?expires=${expires}&signature=`;
    return (key) => (key ? `${this.prefix}${key}${suffix}${this.signatureOf(key, expires)}` : null);
  }

  /** The expiry (Unix seconds) signerAt(now) gives its URLs. */
  pageExpiry(now = Date.now()): number {
    const ttl = this.config.media.urlTtlSeconds;
    const step = Math.min(300, Math.max(1, Math.floor(ttl / 12)));
    return Math.ceil((Math.floor(now / 1000) + ttl) / step) * step;
  }

  isValid(
    key: string,
    expires: string | undefined,
    signature: string | undefined,
    now = Date.now(),
  ): boolean {
    if (!expires || !signature || !/^\d{1,12}$/.test(expires)) return false;
    if (Number(expires) * 1000 < now) return false;
    const expected = Buffer.from(this.signatureOf(key, Number(expires)));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private signatureOf(key: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${key}\n${expires}`).digest('base64url');
  }
}
