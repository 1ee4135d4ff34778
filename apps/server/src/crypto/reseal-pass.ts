import type { DataSource, EntityManager } from 'typeorm';

const BATCH = 200;

export interface ReencryptionResult {
  /** Rows whose sealed values were sealed anew under the first key. */
  resealed: number;
  /** Rows already sealed under it: left as they were. */
  current: number;
  /** Rows whose values no key of the ring opens: left as they were. */
  unreadable: number[];
}

/** One table of sealed values, as the pass reads, locks and rewrites it. */
export interface SealedRows<Row extends { id: number }, Values> {
  /** The next rows after `afterId`, in id order. */
  after(afterId: number, limit: number): Promise<Row[]>;
  /** The row again, locked in `manager`'s transaction; null when it is gone. */
  lock(id: number, manager: EntityManager): Promise<Row | null>;
  /** Every value of the row is sealed with the ring's first key. */
  isCurrent(row: Row): boolean;
  /** The row's values sealed under the first key; throws when no key of the ring opens one. */
  reseal(row: Row): Values;
  write(id: number, values: Values, manager: EntityManager): Promise<void>;
}

/**
 * Seals every row's values under the ring's first key: a pass in id order, each row rewritten in
 * its own transaction with the row locked and its values read again under the lock, so a value
 * changed meanwhile (a reconnection, a secret rotation) is never overwritten by an older one.
 */
export async function resealAll<Row extends { id: number }, Values>(
  dataSource: DataSource,
  rows: SealedRows<Row, Values>,
): Promise<ReencryptionResult> {
  const result: ReencryptionResult = { resealed: 0, current: 0, unreadable: [] };
  for (let afterId = 0; ;) {
    const batch = await rows.after(afterId, BATCH);
    if (batch.length === 0) return result;
    afterId = batch[batch.length - 1].id;
    for (const read of batch) {
      if (rows.isCurrent(read)) {
        result.current += 1;
        continue;
      }
      const outcome = await dataSource.transaction(async (manager) => {
        const row = await rows.lock(read.id, manager);
        if (!row) return 'gone';
        if (rows.isCurrent(row)) return 'current';
        let values: Values;
        try {
          values = rows.reseal(row);
        } catch {
          return 'unreadable';
        }
        await rows.write(row.id, values, manager);
        return 'resealed';
      });
      if (outcome === 'resealed') result.resealed += 1;
      else if (outcome === 'current') result.current += 1;
      else if (outcome === 'unreadable') result.unreadable.push(read.id);
    }
  }
}
