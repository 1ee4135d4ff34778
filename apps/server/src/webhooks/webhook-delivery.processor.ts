import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/common';
import {
  type ClaimedDelivery,
  WebhookDeliveryQueries,
  WebhookEndpointQueries,
} from '@app/database';
import { OWNER_NOTIFIER, type OwnerNotifier } from '../events/event.types.js';
import { JobName, type JobPayloads } from '../jobs/job.types.js';
import { OnJob } from '../jobs/on-job.decorator.js';
import { WebhookDeliveriesService } from './webhook-deliveries.service.js';
import { WebhookEndpointsService } from './webhook-endpoints.service.js';
import { type AttemptResult, DELIVERY_TIMEOUT_MS, sendWebhook } from './webhook-sender.js';
import { signatureHeader } from './webhook-signature.js';
import { checkWebhookTarget, type WebhookTarget, WebhookTargetRefused } from './webhook-target.js';

/**
 * How far an attempt pushes its delivery's next attempt while it runs: past the attempt's own
 * time limit, so only a worker that died mid-attempt leaves it due (the sweep queues it again).
 */
export const ATTEMPT_LEASE_MS = 6 * DELIVERY_TIMEOUT_MS;
/** api.md: an endpoint whose last 20 deliveries all failed is disabled. */
export const FAILURES_BEFORE_DISABLING = 20;

/** Worker role: one attempt of one delivery, then its retry, its end, or its endpoint's disabling. */
@Injectable()
export class WebhookDeliveryProcessor {
  private readonly logger = new Logger(WebhookDeliveryProcessor.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly deliveries: WebhookDeliveryQueries,
    private readonly endpointRows: WebhookEndpointQueries,
    private readonly endpoints: WebhookEndpointsService,
    private readonly service: WebhookDeliveriesService,
    @Optional() @Inject(OWNER_NOTIFIER) private readonly notifier?: OwnerNotifier,
  ) {}

  @OnJob(JobName.DeliverWebhook)
  async deliver({
    deliveryId,
    attempts,
  }: JobPayloads[JobName.DeliverWebhook]): Promise<{ outcome: string }> {
    const delivery = await this.deliveries.claim(deliveryId, attempts, ATTEMPT_LEASE_MS);
    if (!delivery) return { outcome: 'stale' };
    const result = await this.attempt(delivery);
    if (result.ok) {
      await this.deliveries.markSucceeded(delivery.id, result.statusCode, new Date());
      return { outcome: 'succeeded' };
    }
    const delayMs = this.config.webhooks.retryScheduleMs[delivery.retryIndex];
    const retry = delayMs !== undefined && !result.final;
    await this.deliveries.markAttemptFailed(
      delivery.id,
      result,
      retry ? new Date(Date.now() + delayMs) : null,
    );
    if (retry) {
      await this.service.enqueue({ id: delivery.id, attempts: delivery.attempts }, delayMs);
      return { outcome: 'retrying' };
    }
    await this.disableIfFailing(delivery);
    return { outcome: 'failed' };
  }

  /**
   * Checks the target again (DNS may have changed), signs, sends. Throws only on the unexpected
   * (a secret no key of the ring opens): the job fails, the delivery stays pending, and the sweep
   * tries it again once the attempt's lease has passed.
   */
  private async attempt(delivery: ClaimedDelivery): Promise<AttemptResult & { final?: boolean }> {
    if (!delivery.endpointActive && delivery.eventType !== 'ping')
      return { ok: false, statusCode: null, error: 'The endpoint is disabled.', final: true };
    let target: WebhookTarget;
    try {
      target = await checkWebhookTarget(delivery.url, this.endpoints.policy);
    } catch (error) {
      if (!(error instanceof WebhookTargetRefused)) throw error;
      return { ok: false, statusCode: null, error: `refused: ${error.message}` };
    }
    const body = JSON.stringify({
      type: delivery.eventType,
      timestamp: delivery.occurredAt.toISOString(),
      data: delivery.data,
    });
    const timestamp = Math.floor(Date.now() / 1000);
    const secrets = this.endpoints.signingSecrets({
      id: delivery.endpointId,
      secretEncrypted: delivery.secretEncrypted,
      previousSecretEncrypted: delivery.previousSecretEncrypted,
      previousSecretExpiresAt: delivery.previousSecretExpiresAt,
    });
    return sendWebhook(
      target,
      {
        'webhook-id': delivery.eventId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(secrets, delivery.eventId, timestamp, body),
      },
      body,
    );
  }

  /** After a delivery failed for good: its endpoint is turned off once its last 20 all failed. */
  private async disableIfFailing(delivery: ClaimedDelivery): Promise<void> {
    if (!(await this.deliveries.latestAllFailed(delivery.endpointId, FAILURES_BEFORE_DISABLING)))
      return;
    const reason = `Its last ${FAILURES_BEFORE_DISABLING} deliveries all failed (the latest: ${delivery.eventType}).`;
    const disabled = await this.endpointRows.disable(delivery.endpointId, reason);
    if (!disabled) return;
    this.logger.warn(`Webhook endpoint ${delivery.endpointId} disabled: ${reason}`);
    try {
      await this.notifier?.webhookDisabled(
        disabled.userId,
        { id: delivery.endpointId, url: disabled.url },
        reason,
      );
    } catch (error) {
      // The endpoint is off either way; the owner sees it in the API.
      this.logger.error(
        `Telling the owner of webhook ${delivery.endpointId} failed: ${(error as Error).message}`,
      );
    }
  }
}
