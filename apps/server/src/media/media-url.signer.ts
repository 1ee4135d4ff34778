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

  signOrNull(key: string | null): string | null {
    return key ? this.sign(key) : null;
  }

  /**
   * signOrNull() with the expiry of `now` computed once: a list signs three URLs per image, all
   * valid for the same time.
   */
  signerAt(now = Date.now()): (key: string | null) => string | null {
    const suffix = `?expires=${Math.floor(now / 1000) + this.config.media.urlTtlSeconds}&signature=`;
    const expires = Math.floor(now / 1000) + this.config.media.urlTtlSeconds;
    return (key) => (key ? `${this.prefix}${key}${suffix}${this.signatureOf(key, expires)}` : null);
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
