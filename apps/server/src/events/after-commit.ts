import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type {
  DataSource,
  EntitySubscriberInterface,
  QueryRunner,
  TransactionCommitEvent,
  TransactionRollbackEvent,
} from 'typeorm';

type Task = () => Promise<unknown>;

/**
 * Work to do once a transaction has committed, and never if it rolls back: the outbox enqueues
 * an event's dispatch only when its row is visible to the worker. A TypeORM subscriber, so the
 * caller of `dataSource.transaction()` needs to do nothing; nested transactions (savepoints)
 * wait for the outermost commit.
 */
@Injectable()
export class AfterCommit implements EntitySubscriberInterface {
  private readonly logger = new Logger(AfterCommit.name);
  private readonly pending = new WeakMap<QueryRunner, Task[]>();

  constructor(@InjectDataSource() dataSource: DataSource) {
    dataSource.subscribers.push(this);
  }

  /** Runs `task` after the commit of the transaction `runner` is in (which must be active). */
  schedule(runner: QueryRunner, task: Task): void {
    if (!runner.isTransactionActive) throw new Error('AfterCommit.schedule needs a transaction');
    const tasks = this.pending.get(runner);
    if (tasks) tasks.push(task);
    else this.pending.set(runner, [task]);
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    const runner = event.queryRunner;
    // A released savepoint: the outer transaction may still roll back.
    if (runner.isTransactionActive) return;
    const tasks = this.pending.get(runner);
    if (!tasks) return;
    this.pending.delete(runner);
    // Not awaited: TypeORM awaits this hook before it releases the connection, and a pooled
    // connection must not wait on Redis. The commit has happened: a failing task is only logged
    // (the outbox's sweep enqueues what a lost task did not).
    void Promise.allSettled(tasks.map((task) => task())).then((outcomes) => {
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected')
          this.logger.warn(`After-commit task failed: ${(outcome.reason as Error).message}`);
      }
    });
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    // Only the outermost rollback drops them: tasks from a rolled-back savepoint are harmless
    // (their dispatch finds no row) and simpler than tracking depths.
    if (!event.queryRunner.isTransactionActive) this.pending.delete(event.queryRunner);
  }
}
