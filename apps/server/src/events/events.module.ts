import { Global, Module } from '@nestjs/common';
import { AfterCommit } from './after-commit.js';
import { EventConsumers } from './event-consumers.js';
import { EventDispatchProcessor } from './event-dispatch.processor.js';
import { EventRecorder } from './event-recorder.js';
import { EventsSweep } from './events.sweep.js';

/**
 * The events outbox, global: every feature records its events with EventRecorder in the
 * transaction of its change, and every module that acts on events registers an EventConsumer.
 * The dispatch job runs in the worker role, the sweep in the scheduler role.
 */
@Global()
@Module({
  providers: [AfterCommit, EventConsumers, EventRecorder, EventDispatchProcessor, EventsSweep],
  exports: [EventConsumers, EventRecorder],
})
export class EventsModule {}
