import { createCipheriv, randomBytes } from 'node:crypto';

/**
 * A token sealed as TokenCipher wrote them before key rings: `v1.<iv>.<ciphertext>.<tag>`, no key
 * id. Stored values of that format must keep opening.
 */
export function sealedTheOldWay(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv, ciphertext, cipher.getAuthTag()]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}
