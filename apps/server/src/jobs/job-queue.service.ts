import { getQueueToken } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { JobOptions, Queue } from 'bull';
import { type JobName, type JobPayloads, QUEUE_OF, RETRY_AFTER_BACKOFF } from './job.types.js';

export interface EnqueueOptions {
  /** Derived from the data (`publish-post:42:3`), so a second enqueue of the same work is a no-op. */
  jobId: string;
  delayMs?: number;
  attempts?: number;
  /** Base of the retry delay: doubled each try, unless the error carries `retryAfterMs`. */
  backoffMs?: number;
}

/**
 * How long a request waits for an enqueue after its commit. While Redis reconnects, ioredis holds
 * commands in its offline queue; the request answers rather than wait for it (the job, if it
 * lands later, has the same id as the one the sweep would make).
 */
const AFTER_COMMIT_TIMEOUT_MS = 2000;

@Injectable()
export class JobQueue {
  private readonly logger = new Logger(JobQueue.name);

  constructor(private readonly moduleRef: ModuleRef) {}

  /**
   * The job of work whose row was just committed: the work exists, so a failed or slow enqueue
   * (Redis unreachable) is logged, not thrown, and the job id is returned all the same. The
   * sweeps rebuild missing jobs from the rows (PublishingSweep, ImageGenerationSweep); an error
   * here would make the client retry and create the work twice.
   */
  async enqueueAfterCommit<N extends JobName>(
    name: N,
    payload: JobPayloads[N],
    options: EnqueueOptions,
  ): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${AFTER_COMMIT_TIMEOUT_MS} ms`)),
        AFTER_COMMIT_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([this.enqueue(name, payload, options), timeout]);
    } catch (error) {
      this.logger.warn(
        `Enqueueing ${options.jobId} failed after its commit; the sweep will queue it: ${(error as Error).message}`,
      );
      return options.jobId;
    } finally {
      clearTimeout(timer);
    }
  }

  async enqueue<N extends JobName>(
    name: N,
    payload: JobPayloads[N],
    options: EnqueueOptions,
  ): Promise<string> {
    const queue = this.queueFor(name);
    const jobOptions: JobOptions = {
      jobId: options.jobId,
      delay: options.delayMs,
      attempts: options.attempts ?? 1,
      backoff: options.backoffMs
        ? { type: RETRY_AFTER_BACKOFF, options: { base: options.backoffMs } }
        : undefined,
      removeOnComplete: 1000,
      removeOnFail: 5000,
    };
    const job = await queue.add(name, payload, jobOptions);
    return String(job.id);
  }

  /**
   * As enqueue(), for work that is worth one pending run rather than one run ever: a finished
   * (completed or failed) job still kept under the id is removed first, so it does not turn the
   * next enqueue into a no-op, while a waiting, delayed or running one absorbs it.
   */
  async enqueuePending<N extends JobName>(
    name: N,
    payload: JobPayloads[N],
    options: EnqueueOptions,
  ): Promise<string> {
    const finished = await this.queueFor(name).getJob(options.jobId);
    if (finished && ['completed', 'failed'].includes(await finished.getState())) {
      // Another enqueue may have removed it first: either way the id is free.
      await finished.remove().catch(() => undefined);
    }
    return this.enqueue(name, payload, options);
  }

  queueFor(name: JobName): Queue {
    return this.moduleRef.get<Queue>(getQueueToken(QUEUE_OF[name]), { strict: false });
  }
}
