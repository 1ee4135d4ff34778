import { AppError, ConflictError } from '@app/common';

/** api.md: at most 10 endpoints per user; the 11th is refused. */
export class WebhookLimitError extends AppError {
  constructor(limit: number) {
    super(
      409,
      'webhook_limit_reached',
      `You already have ${limit} webhook endpoints, the most there may be; delete one first.`,
    );
  }
}

/** A pending delivery is already going out: there is nothing to redeliver yet. */
export class DeliveryPendingError extends ConflictError {
  constructor() {
    super(
      'delivery_pending',
      'This delivery is still pending; it can be redelivered once it succeeded or failed.',
    );
  }
}
