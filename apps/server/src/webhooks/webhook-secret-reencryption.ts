import type { DataSource } from 'typeorm';
import type { TokenCipher } from '@app/common';
import { type SealedSecrets, WebhookEndpointQueries } from '@app/database';
import { secretContext } from './webhook-endpoints.service.js';

const BATCH = 200;

export interface SecretReencryptionResult {
  /** Endpoints whose secrets were sealed anew under the first key. */
  resealed: number;
  /** Endpoints already sealed under it: left as they were. */
  current: number;
  /** Endpoints whose secrets no key of the ring opens: left as they were. */
  unreadable: number[];
}

/**
 * Seals every stored webhook secret under the cipher's first key, as `reencryptAllTokens` does
 * for account tokens: endpoints in id order, each in its own transaction with its row locked and
 * its secrets read again under the lock, so a rotation meanwhile is never overwritten.
 */
export async function reencryptWebhookSecrets(
  dataSource: DataSource,
  cipher: TokenCipher,
): Promise<SecretReencryptionResult> {
  const rows = new WebhookEndpointQueries(dataSource);
  const result: SecretReencryptionResult = { resealed: 0, current: 0, unreadable: [] };
  for (let afterId = 0; ;) {
    const batch = await rows.sealedSecretsAfter(afterId, BATCH);
    if (batch.length === 0) return result;
    afterId = batch[batch.length - 1].id;
    for (const read of batch) {
      if (isCurrent(cipher, read)) {
        result.current += 1;
        continue;
      }
      const outcome = await dataSource.transaction(async (manager) => {
        const row = await rows.lockSealedSecrets(read.id, manager);
        if (!row) return 'gone';
        if (isCurrent(cipher, row)) return 'current';
        try {
          await rows.resealSecrets(
            row.id,
            {
              secretEncrypted: cipher.reseal(row.secretEncrypted, secretContext(row.id, 'secret')),
              previousSecretEncrypted: row.previousSecretEncrypted
                ? cipher.reseal(
                    row.previousSecretEncrypted,
                    secretContext(row.id, 'previous_secret'),
                  )
                : null,
            },
            manager,
          );
        } catch {
          return 'unreadable';
        }
        return 'resealed';
      });
      if (outcome === 'resealed') result.resealed += 1;
      else if (outcome === 'current') result.current += 1;
      else if (outcome === 'unreadable') result.unreadable.push(read.id);
    }
  }
}

function isCurrent(cipher: TokenCipher, row: SealedSecrets): boolean {
  return (
    cipher.isSealedWithFirstKey(row.secretEncrypted) &&
    (!row.previousSecretEncrypted || cipher.isSealedWithFirstKey(row.previousSecretEncrypted))
  );
}
