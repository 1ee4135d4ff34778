import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { GeneratedImageQueries, ImageTagQueries, UserQueries } from '@app/database';
import { EventRecorder } from '../events/event-recorder.js';
import type { EventType } from '../events/event.types.js';
import { MediaUrlSigner } from '../media/media-url.signer.js';
import { presentImage } from './images.presenter.js';

export type ImageEventType = Extract<EventType, `image.${string}`>;

/**
 * Records an image event with the image as `GET /api/images/{id}/` shows it, read with the
 * caller's manager: inside the transaction of the change, so the data is what was committed.
 */
@Injectable()
export class ImageEvents {
  constructor(
    private readonly recorder: EventRecorder,
    private readonly images: GeneratedImageQueries,
    private readonly imageTags: ImageTagQueries,
    private readonly users: UserQueries,
    private readonly signer: MediaUrlSigner,
  ) {}

  async record(
    manager: EntityManager,
    type: ImageEventType,
    userId: number,
    imageId: number,
  ): Promise<void> {
    const image = await this.images.findOwned(userId, imageId, manager);
    if (!image) return;
    // One after the other: the manager is one connection.
    const names = await this.imageTags.namesByImage(userId, [image.id], manager);
    const username = await this.users.usernameOf(userId, manager);
    const data = presentImage(image, username, names.get(image.id) ?? [], (key) =>
      this.signer.signOrNull(key),
    );
    await this.recorder.record(manager, { userId, type, data: { ...data } });
  }
}
