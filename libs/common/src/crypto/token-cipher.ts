import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Before key rings: `v1.<iv>.<ciphertext>.<tag>`, sealed under the one key there was. */
const UNNAMED_KEY_VERSION = 'v1';
/** `v2.<key id>.<iv>.<ciphertext>.<tag>`: the key id says which key of the ring opens it. */
const VERSION = 'v2';
const IV_BYTES = 12;
/** Pinned: GCM checks only as many tag bytes as it is handed, so a shorter tag must not be taken. */
const TAG_BYTES = 16;

interface RingKey {
  id: string;
  key: Buffer;
}

/**
 * AES-256-GCM for third-party tokens at rest. Each ciphertext is bound to where it lives (the
 * `context`, e.g. `social_accounts:42:access_token`) as additional authenticated data: copied
 * into another row or field, it no longer decrypts.
 *
 * A ring of keys: the first encrypts, every one decrypts, so a key is rotated by putting the new
 * one first, re-encrypting what is stored (`tokens:reencrypt`), then dropping the old one.
 */
export class TokenCipher {
  private readonly ring: RingKey[];

  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0) throw new Error('TokenCipher needs at least one key');
    this.ring = keys.map((key) => {
      if (key.length !== 32) throw new Error('TokenCipher needs 32-byte keys');
      return { id: TokenCipher.keyId(key), key };
    });
    if (new Set(this.ring.map((entry) => entry.id)).size !== this.ring.length)
      throw new Error('TokenCipher was given the same key twice');
  }

  /** What a ciphertext names its key by: the first 4 bytes of the key's SHA-256, in hex. */
  static keyId(key: Buffer): string {
    return createHash('sha256').update(key).digest().subarray(0, 4).toString('hex');
  }

  encrypt(plaintext: string, context: string): string {
    const { id, key } = this.ring[0];
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, id, ...[iv, ciphertext, cipher.getAuthTag()].map(base64url)].join('.');
  }

  /** Throws when the value was altered, moved to another context, or sealed under no key of the ring. */
  decrypt(sealed: string, context: string): string {
    const parts = sealed.split('.');
    if (parts[0] === VERSION && parts.length === 5) {
      const [, id, iv, ciphertext, tag] = parts;
      const entry = this.ring.find((candidate) => candidate.id === id);
      if (!entry) throw new Error(`Sealed under key ${id}, which is not in the ring`);
      return open(entry.key, iv, ciphertext, tag, context);
    }
    if (parts[0] === UNNAMED_KEY_VERSION && parts.length === 4) {
      const [, iv, ciphertext, tag] = parts;
      // No key id: the authentication tag tells which key of the ring sealed it.
      for (const { key } of this.ring) {
        try {
          return open(key, iv, ciphertext, tag, context);
        } catch {
          continue;
        }
      }
      throw new Error('Sealed under no key of the ring, or altered');
    }
    throw new Error('Not a sealed token');
  }

  /** Whether `sealed` is already in the current format under the key that encrypts. */
  isSealedWithFirstKey(sealed: string): boolean {
    const [version, id] = sealed.split('.');
    return version === VERSION && id === this.ring[0].id;
  }

  /** The same token sealed again under the first key, for the same context. */
  reseal(sealed: string, context: string): string {
    return this.encrypt(this.decrypt(sealed, context), context);
  }
}

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

function open(key: Buffer, iv: string, ciphertext: string, tag: string, context: string): string {
  const tagBytes = Buffer.from(tag, 'base64url');
  if (tagBytes.length !== TAG_BYTES) throw new Error('Not a sealed token: bad tag length');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(tagBytes);
  return Buffer.concat([
    decipher.update(Buffer.from(ciphertext, 'base64url')),
    decipher.final(),
  ]).toString('utf8');
}
