import { Injectable } from '@nestjs/common';
import type { EventConsumer } from './event.types.js';

/**
 * Who receives recorded events. A module that acts on events registers its consumer here when
 * it starts (`onModuleInit`); the outbox's dispatcher hands each event to every one of them.
 */
@Injectable()
export class EventConsumers {
  private readonly consumers: EventConsumer[] = [];

  register(consumer: EventConsumer): void {
    if (this.consumers.some((known) => known.name === consumer.name)) {
      throw new Error(`Event consumer "${consumer.name}" is registered twice`);
    }
    this.consumers.push(consumer);
  }

  all(): readonly EventConsumer[] {
    return this.consumers;
  }
}
