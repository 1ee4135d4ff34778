import type { DataSource } from 'typeorm';
import type { TokenCipher } from '@app/common';
import { type SealedTokens, SocialAccountQueries } from '@app/database';
import { type ReencryptionResult, resealAll } from '../crypto/reseal-pass.js';
import { tokenContext } from './accounts.service.js';

export type { ReencryptionResult } from '../crypto/reseal-pass.js';

/** Seals every stored account token under the cipher's first key (see `resealAll`). */
export function reencryptAllTokens(
  dataSource: DataSource,
  cipher: TokenCipher,
): Promise<ReencryptionResult> {
  const rows = new SocialAccountQueries(dataSource);
  return resealAll<SealedTokens, Omit<SealedTokens, 'id'>>(dataSource, {
    after: (afterId, limit) => rows.sealedTokensAfter(afterId, limit),
    lock: (id, manager) => rows.lockWithSealedTokens(id, manager),
    isCurrent: (row) =>
      cipher.isSealedWithFirstKey(row.accessTokenEncrypted) &&
      (!row.refreshTokenEncrypted || cipher.isSealedWithFirstKey(row.refreshTokenEncrypted)),
    reseal: (row) => ({
      accessTokenEncrypted: cipher.reseal(
        row.accessTokenEncrypted,
        tokenContext(row.id, 'access_token'),
      ),
      refreshTokenEncrypted: row.refreshTokenEncrypted
        ? cipher.reseal(row.refreshTokenEncrypted, tokenContext(row.id, 'refresh_token'))
        : row.refreshTokenEncrypted,
    }),
    write: (id, values, manager) => rows.resealTokens(id, values, manager),
  });
}
