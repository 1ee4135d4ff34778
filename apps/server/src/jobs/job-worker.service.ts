import { getQueueToken } from '@nestjs/bull';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef, Reflector } from '@nestjs/core';
import type { Job, Queue } from 'bull';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { JobName, QUEUE_OF, QueueName } from './job.types.js';
import { ON_JOB } from './on-job.decorator.js';

type Handler = (payload: unknown, job: Job) => Promise<unknown>;

/** Worker role only: binds each job name to its one @OnJob method and starts consuming. */
@Injectable()
export class JobWorker implements OnApplicationBootstrap {
  private readonly logger = new Logger(JobWorker.name);

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly moduleRef: ModuleRef,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const handlers = this.discoverHandlers();
    const missing = Object.values(JobName).filter((name) => !handlers.has(name));
    if (missing.length > 0) throw new Error(`No @OnJob handler for job(s): ${missing.join(', ')}`);
    const byQueue = new Map<QueueName, Map<string, Handler>>();
    for (const [name, handler] of handlers) {
      const queueName = QUEUE_OF[name];
      byQueue.set(queueName, (byQueue.get(queueName) ?? new Map()).set(name, handler));
    }
    for (const [queueName, named] of byQueue) {
      const queue = this.moduleRef.get<Queue>(getQueueToken(queueName), { strict: false });
      // One process() per queue, dispatching on the job's name: Bull runs one loop per unit of
      // concurrency of *each* process() call, so one call per job name would multiply it.
      void queue.process('*', this.concurrency(queueName), (job: Job) => {
        const handler = named.get(job.name);
        if (!handler) throw new Error(`No handler for job ${job.name} on queue ${queueName}`);
        return handler(job.data, job);
      });
    }
    this.logger.log(`Worker consuming ${handlers.size} job type(s) on ${byQueue.size} queue(s)`);
  }

  private concurrency(queue: QueueName): number {
    if (queue === QueueName.Images) return this.config.images.concurrency;
    if (queue === QueueName.Posts) return this.config.publishing.concurrency;
    if (queue === QueueName.Analytics) return this.config.publishing.analyticsConcurrency;
    if (queue === QueueName.Events) return this.config.events.concurrency;
    if (queue === QueueName.Webhooks) return this.config.webhooks.concurrency;
    if (queue === QueueName.Mail) return this.config.mail.concurrency;
    return 1;
  }

  private discoverHandlers(): Map<JobName, Handler> {
    const handlers = new Map<JobName, Handler>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = instance[method] as (...args: unknown[]) => Promise<unknown>;
        const name = this.reflector.get<JobName | undefined>(ON_JOB, fn);
        if (!name) continue;
        if (handlers.has(name)) throw new Error(`Two @OnJob handlers for job ${name}`);
        handlers.set(name, (payload, job) => fn.call(instance, payload, job));
      }
    }
    return handlers;
  }
}
