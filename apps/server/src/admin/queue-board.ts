import type { Queue } from 'bull';
import type { Router } from 'express';

/**
 * Bull Board over the app's Bull queues (waiting, active, delayed, failed jobs; retry, clean),
 * mounted by the admin router behind the staff sign-in. Loaded on demand, with AdminJS.
 */
export async function queueBoardRouter(queues: Queue[], basePath: string): Promise<Router> {
  const { createBullBoard } = await import('@bull-board/api');
  const { ExpressAdapter } = await import('@bull-board/express');
  const { BullAdapter } = await import('@bull-board/api/bullAdapter');
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map((queue) => new BullAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Image Automation queues' } },
  });
  return serverAdapter.getRouter() as Router;
}
