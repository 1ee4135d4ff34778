import { createHmac, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/common';

/** Absolute media URLs that carry an HMAC of their path and expiry; nothing else is served. */
@Injectable()
export class MediaUrlSigner {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  sign(key: string, ttlSeconds = this.config.media.urlTtlSeconds, now = Date.now()): string {
    const expires = Math.floor(now / 1000) + ttlSeconds;
    const signature = this.signatureOf(key, expires);
    return `${this.config.publicBaseUrl}/media/${key}?expires=${expires}&signature=${signature}`;
  }

  signOrNull(key: string | null): string | null {
    return key ? this.sign(key) : null;
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
    return createHmac('sha256', this.config.media.signingKey)
      .update(`${key}\n${expires}`)
      .digest('base64url');
  }
}
