import type { Queue } from 'bull';
import type { RequestHandler, Router } from 'express';
import type { StaffMember } from './admin-sign-in.service.js';

/**
 * Bull Board over the app's Bull queues (waiting, active, delayed, failed jobs), mounted by the
 * admin router behind the staff sign-in. What changes the queues (retry, promote, clean, empty,
 * pause, add) is for superusers, as editing users is: a staff member's board is read-only (its
 * buttons hidden, and its API answers those requests 405 `QUEUE_READ_ONLY`). Loaded on demand,
 * with AdminJS.
 */
export async function queueBoard(
  queues: Queue[],
  basePath: string,
  memberOf: (request: Parameters<RequestHandler>[0]) => StaffMember | undefined,
): Promise<RequestHandler> {
  const full = await boardRouter(queues, basePath, false);
  const readOnly = await boardRouter(queues, basePath, true);
  return (request, response, next) =>
    (memberOf(request)?.isSuperuser ? full : readOnly)(request, response, next);
}

async function boardRouter(queues: Queue[], basePath: string, readOnlyMode: boolean) {
  const { createBullBoard } = await import('@bull-board/api');
  const { ExpressAdapter } = await import('@bull-board/express');
  const { BullAdapter } = await import('@bull-board/api/bullAdapter');
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map((queue) => new BullAdapter(queue, { readOnlyMode })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Image Automation queues' } },
  });
  return serverAdapter.getRouter() as Router;
}
