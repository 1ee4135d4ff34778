/**
 * The one typed contract between whoever enqueues and the worker: every job name, the queue it
 * travels on and its payload. A job name without exactly one @OnJob handler stops a worker's boot.
 */
export enum QueueName {
  Maintenance = 'maintenance',
}

export enum JobName {
  PurgeExpiredTokens = 'auth.purge-expired-tokens',
}

export interface JobPayloads {
  [JobName.PurgeExpiredTokens]: { before: string };
}

export const QUEUE_OF: Record<JobName, QueueName> = {
  [JobName.PurgeExpiredTokens]: QueueName.Maintenance,
};

/** Concurrency per queue in one worker process. */
export const QUEUE_CONCURRENCY: Record<QueueName, number> = {
  [QueueName.Maintenance]: 1,
};
