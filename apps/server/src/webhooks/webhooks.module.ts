import { Module } from '@nestjs/common';
import { WebhookDeliveriesService } from './webhook-deliveries.service.js';
import { WebhookDeliveryProcessor } from './webhook-delivery.processor.js';
import { WebhookDeliverySweep } from './webhook-delivery.sweep.js';
import { WebhookEndpointsService } from './webhook-endpoints.service.js';
import { WebhooksController } from './webhooks.controller.js';

/**
 * Webhooks: endpoints and their secrets, the fan-out of every recorded event into deliveries,
 * and their signed, retried delivery by the worker role on the `webhooks` queue.
 */
@Module({
  controllers: [WebhooksController],
  providers: [
    WebhookEndpointsService,
    WebhookDeliveriesService,
    WebhookDeliveryProcessor,
    WebhookDeliverySweep,
  ],
  exports: [WebhookEndpointsService, WebhookDeliveriesService],
})
export class WebhooksModule {}
