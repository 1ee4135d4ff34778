import type { DataSource } from 'typeorm';
import type { TokenCipher } from '@app/common';
import { type SealedTokens, SocialAccountQueries } from '@app/database';
import { tokenContext } from './accounts.service.js';

const BATCH = 200;

export interface ReencryptionResult {
  /** Accounts whose tokens were sealed anew under the first key. */
  resealed: number;
  /** Accounts already sealed under it: left as they were. */
  current: number;
  /** Accounts whose tokens no key of the ring opens: left as they were. */
  unreadable: number[];
}

/**
 * Seals every stored token under the cipher's first key: a pass over the accounts in id order,
 * each one rewritten in its own transaction with its row locked and its tokens read again under
 * the lock, so a token the owner changes meanwhile is never overwritten by an older one.
 */
export async function reencryptAllTokens(
  dataSource: DataSource,
  cipher: TokenCipher,
): Promise<ReencryptionResult> {
  const rows = new SocialAccountQueries(dataSource);
  const result: ReencryptionResult = { resealed: 0, current: 0, unreadable: [] };
  for (let afterId = 0; ;) {
    const batch = await rows.sealedTokensAfter(afterId, BATCH);
    if (batch.length === 0) return result;
    afterId = batch[batch.length - 1].id;
    for (const read of batch) {
      if (isCurrent(cipher, read)) {
        result.current += 1;
        continue;
      }
      const outcome = await dataSource.transaction(async (manager) => {
        const row = await rows.lockWithSealedTokens(read.id, manager);
        if (!row) return 'gone';
        if (isCurrent(cipher, row)) return 'current';
        let resealed: Omit<SealedTokens, 'id'>;
        try {
          resealed = {
            accessTokenEncrypted: cipher.reseal(
              row.accessTokenEncrypted,
              tokenContext(row.id, 'access_token'),
            ),
            refreshTokenEncrypted: row.refreshTokenEncrypted
              ? cipher.reseal(row.refreshTokenEncrypted, tokenContext(row.id, 'refresh_token'))
              : row.refreshTokenEncrypted,
          };
        } catch {
          return 'unreadable';
        }
        await rows.resealTokens(row.id, resealed, manager);
        return 'resealed';
      });
      if (outcome === 'resealed') result.resealed += 1;
      else if (outcome === 'current') result.current += 1;
      else if (outcome === 'unreadable') result.unreadable.push(read.id);
    }
  }
}

function isCurrent(cipher: TokenCipher, row: SealedTokens): boolean {
  return (
    cipher.isSealedWithFirstKey(row.accessTokenEncrypted) &&
    (!row.refreshTokenEncrypted || cipher.isSealedWithFirstKey(row.refreshTokenEncrypted))
  );
}
