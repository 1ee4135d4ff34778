import { createHmac, randomBytes } from 'node:crypto';

/** Standard Webhooks' prefix of a signing secret; the rest is base64 of the key's bytes. */
const SECRET_PREFIX = 'whsec_';
/** 32 bytes: above the 24 the contract asks for, and HMAC-SHA256's own block-sized strength. */
const SECRET_BYTES = 32;

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/**
 * The `webhook-signature` header of Standard Webhooks: `v1,` + base64 HMAC-SHA256 of
 * `{id}.{timestamp}.{body}` keyed by the secret's bytes, one per secret, space-separated (during
 * a rotation the receiver may know either secret).
 */
export function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): string {
  const signed = `${id}.${timestamp}.${body}`;
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
      return `v1,${createHmac('sha256', key).update(signed).digest('base64')}`;
    })
    .join(' ');
}
