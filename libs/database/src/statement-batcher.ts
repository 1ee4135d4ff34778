interface Pending<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers calls into one call of `run`: in a burst, the fifty publishes a worker runs at once
 * each claim, checkpoint and record their post at about the same moment, and one statement for
 * all of them costs PostgreSQL and the worker a fraction of fifty (one round trip, one
 * transaction, one commit). A call waits for the end of the current turn of the event loop, and
 * while `maxInFlight` batches are running, for one of them to finish: alone it goes at once;
 * under load the batches grow instead of the round trips multiplying (as group commit does).
 * `run` answers one result per item, in order. When a batch of several fails, each of its items
 * is run again alone, so that one bad row (a value a column refuses) or a deadlock victim fails
 * only its own call, as it would have without batching.
 *
 * Two items with the same key are never in flight together: the later one waits until the
 * earlier one's batch is done, so it sees what that one did, as if they had run one after the
 * other.
 */
export class StatementBatcher<Item, Result> {
  private pending: Pending<Item, Result>[] = [];
  private readonly inFlight = new Set<unknown>();
  private running = 0;
  private scheduled = false;

  constructor(
    private readonly run: (items: Item[]) => Promise<Result[]>,
    private readonly keyOf: (item: Item) => unknown,
    private readonly maxBatch = 100,
    private readonly maxInFlight = 1,
  ) {}

  add(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.pending.length === 0 || this.running >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const batch: Pending<Item, Result>[] = [];
    const keys: unknown[] = [];
    const waiting: Pending<Item, Result>[] = [];
    for (const entry of this.pending) {
      const key = this.keyOf(entry.item);
      if (batch.length < this.maxBatch && !this.inFlight.has(key)) {
        this.inFlight.add(key);
        keys.push(key);
        batch.push(entry);
      } else {
        waiting.push(entry);
      }
    }
    this.pending = waiting;
    if (batch.length === 0) return; // all wait for batches in flight, which reschedule
    this.running += 1;
    // More than one batch's worth goes in the next turn if another batch may run meanwhile.
    this.schedule();
    const settled = this.attempt(batch.map((entry) => entry.item)).then(
      (results) => batch.forEach((entry, index) => entry.resolve(results[index] as Result)),
      (error: unknown) => this.retryAlone(batch, error),
    );
    void settled.finally(() => {
      this.running -= 1;
      for (const key of keys) this.inFlight.delete(key);
      this.schedule();
    });
  }

  /** A failed batch: each of its items alone (one item alone has had its turn). */
  private async retryAlone(batch: Pending<Item, Result>[], error: unknown): Promise<void> {
    if (batch.length === 1) {
      batch[0]?.reject(error);
      return;
    }
    await Promise.all(
      batch.map((entry) =>
        this.attempt([entry.item]).then(
          ([result]) => entry.resolve(result as Result),
          (failure: unknown) => entry.reject(failure),
        ),
      ),
    );
  }

  /** `run`, with a synchronous throw turned into a rejection. */
  private async attempt(items: Item[]): Promise<Result[]> {
    return this.run(items);
  }
}
