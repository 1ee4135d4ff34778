import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import {
  type ScheduleRun,
  ScheduledPostQueries,
  SocialAccountQueries,
  UserQueries,
} from '@app/database';
import { EventRecorder } from '../events/event-recorder.js';
import type { EventType } from '../events/event.types.js';
import { MediaUrlSigner } from '../media/media-url.signer.js';
import { presentAccount } from './accounts.controller.js';
import { presentPost } from './posts.presenter.js';
import { presentRun } from './schedules.controller.js';

export type PostEventType = Extract<EventType, `post.${string}`>;

/**
 * Records the Scheduler's events with the resource as the API shows it (the post, the account,
 * the schedule's run), read with the caller's manager: inside the transaction of the change.
 */
@Injectable()
export class PostEvents {
  constructor(
    private readonly recorder: EventRecorder,
    private readonly posts: ScheduledPostQueries,
    private readonly accounts: SocialAccountQueries,
    private readonly users: UserQueries,
    private readonly signer: MediaUrlSigner,
  ) {}

  /** `post.failed` says in `data.error_code` why, `outcome_unknown` included. */
  async post(
    manager: EntityManager,
    type: PostEventType,
    userId: number,
    postId: number,
  ): Promise<void> {
    const post = await this.posts.findOwned(userId, postId, manager);
    if (!post) return;
    const image = post.imageId
      ? ((await this.posts.images([post.imageId], manager)).get(post.imageId) ?? null)
      : null;
    const username = await this.users.usernameOf(userId, manager);
    const data = presentPost(post, username, image, (key) => this.signer.signOrNull(key));
    await this.recorder.record(manager, { userId, type, data: { ...data } });
  }

  async accountReconnectRequired(
    manager: EntityManager,
    userId: number,
    accountId: number,
  ): Promise<void> {
    const account = await this.accounts.findOwned(userId, accountId, manager);
    if (!account) return;
    await this.recorder.record(manager, {
      userId,
      type: 'account.reconnect_required',
      data: { ...presentAccount(account) },
    });
  }

  /** `run` as it was written (skipped, with its reason and time). */
  async runSkipped(manager: EntityManager, userId: number, run: ScheduleRun): Promise<void> {
    await this.recorder.record(manager, {
      userId,
      type: 'schedule.run_skipped',
      data: { ...presentRun(run) },
    });
  }
}
