import type { DataSource } from 'typeorm';
import type { TokenCipher } from '@app/common';
import { type SealedSecrets, WebhookEndpointQueries } from '@app/database';
import { type ReencryptionResult, resealAll } from '../crypto/reseal-pass.js';
import { secretContext } from './webhook-endpoints.service.js';

/** Seals every stored webhook secret under the cipher's first key (see `resealAll`). */
export function reencryptWebhookSecrets(
  dataSource: DataSource,
  cipher: TokenCipher,
): Promise<ReencryptionResult> {
  const rows = new WebhookEndpointQueries(dataSource);
  return resealAll<
    SealedSecrets,
    Pick<SealedSecrets, 'secretEncrypted' | 'previousSecretEncrypted'>
  >(dataSource, {
    after: (afterId, limit) => rows.sealedSecretsAfter(afterId, limit),
    lock: (id, manager) => rows.lockSealedSecrets(id, manager),
    isCurrent: (row) =>
      cipher.isSealedWithFirstKey(row.secretEncrypted) &&
      (!row.previousSecretEncrypted || cipher.isSealedWithFirstKey(row.previousSecretEncrypted)),
    reseal: (row) => ({
      secretEncrypted: cipher.reseal(row.secretEncrypted, secretContext(row.id, 'secret')),
      previousSecretEncrypted: row.previousSecretEncrypted
        ? cipher.reseal(row.previousSecretEncrypted, secretContext(row.id, 'previous_secret'))
        : null,
    }),
    write: (id, values, manager) => rows.resealSecrets(id, values, manager),
  });
}
