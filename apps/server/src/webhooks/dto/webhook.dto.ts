import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsString,
  MaxLength,
  MinLength,
} from 'class-validator';
import { DELIVERY_STATUSES, type DeliveryStatus } from '@app/database';
import { EVENT_TYPES } from '../../events/event.types.js';
import { OptionalNotNull, ToBoolean } from '../../http/transforms.js';

/** What an endpoint may subscribe to: every event but the ping, which only the test sends. */
export const SUBSCRIBABLE_EVENTS = EVENT_TYPES.filter((type) => type !== 'ping');

const URL_EXAMPLE = 'https://example.com/hooks/image-automation';
const SECRET_EXAMPLE = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0vZ5l7p7nqg=';

export class CreateWebhookDto {
  @ApiProperty({
    example: URL_EXAMPLE,
    maxLength: 2048,
    description:
      'https in production. A host that resolves to a loopback, private, link-local, CGNAT or metadata address is refused.',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(2048)
  url: string;

  @ApiPropertyOptional({ example: 'Order system', maxLength: 500, default: '' })
  @OptionalNotNull()
  @IsString()
  @MaxLength(500)
  description?: string;

  @ApiPropertyOptional({
    type: [String],
    enum: SUBSCRIBABLE_EVENTS,
    example: ['post.published', 'post.failed'],
    description: 'The event types sent to it; empty (the default): every one.',
  })
  @OptionalNotNull()
  @IsArray()
  @ArrayMaxSize(SUBSCRIBABLE_EVENTS.length)
  @ArrayUnique()
  @IsIn(SUBSCRIBABLE_EVENTS, { each: true })
  events?: string[];
}

export class UpdateWebhookDto extends PartialType(CreateWebhookDto, { skipNullProperties: false }) {
  @ApiPropertyOptional({
    example: true,
    description: 'Turn it off or on again; turning it on clears `disabled_reason`.',
  })
  @OptionalNotNull()
  @ToBoolean()
  @IsBoolean()
  is_active?: boolean;
}

export class WebhookResponse {
  @ApiProperty({ example: 3 }) id: number;
  @ApiProperty({ example: URL_EXAMPLE }) url: string;
  @ApiProperty({ example: 'Order system' }) description: string;
  @ApiProperty({
    type: [String],
    enum: SUBSCRIBABLE_EVENTS,
    example: ['post.published', 'post.failed'],
    description: 'Empty: every event.',
  })
  events: string[];
  @ApiProperty({ example: true }) is_active: boolean;
  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'Why the server turned it off (its last 20 deliveries failed); null otherwise.',
  })
  disabled_reason: string | null;
  @ApiProperty({ example: '2026-12-07T14:00:00.000Z' }) created_at: string;
}

export class WebhookWithSecretResponse extends WebhookResponse {
  @ApiProperty({
    example: SECRET_EXAMPLE,
    description:
      'The signing secret, shown only here. Verify `webhook-signature` with it (Standard Webhooks).',
  })
  secret: string;
}

export class WebhookDeliveryResponse {
  @ApiProperty({ example: 812 }) id: number;
  @ApiProperty({
    example: 'a4b3c2d1-9f8e-4d7c-8b6a-5f4e3d2c1b0a',
    description: 'The `webhook-id` header: the same on every retry and redelivery.',
  })
  event_id: string;
  @ApiProperty({ example: 'post.published' }) event_type: string;
  @ApiProperty({ enum: DELIVERY_STATUSES, example: 'succeeded' }) status: DeliveryStatus;
  @ApiProperty({ example: 1 }) attempts: number;
  @ApiProperty({ type: Number, nullable: true, example: 200 }) last_status_code: number | null;
  @ApiProperty({ type: String, nullable: true, example: null }) last_error: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'When the next attempt is due, while pending.',
  })
  next_attempt_at: string | null;
  @ApiProperty({ example: '2026-12-07T14:00:00.000Z' }) created_at: string;
  @ApiProperty({ type: String, nullable: true, example: '2026-12-07T14:00:00.412Z' })
  delivered_at: string | null;
}
