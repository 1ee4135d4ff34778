import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { APP_CONFIG, type AppConfig } from '@app/common';
import type { WebhookDelivery, WebhookEndpoint } from '@app/database';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { UserWithProfile } from '../auth/user-accounts.js';
import { ApiProblems } from '../http/api-problems.decorator.js';
import { IdPipe } from '../http/id.pipe.js';
import { Idempotent } from '../http/idempotent.decorator.js';
import { ApiPage, type Page, paginate, PageQuery } from '../http/pagination.js';
import { RequestUrl } from '../http/request-url.decorator.js';
import {
  CreateWebhookDto,
  UpdateWebhookDto,
  WebhookDeliveryResponse,
  WebhookResponse,
  WebhookWithSecretResponse,
} from './dto/webhook.dto.js';
import { WebhookDeliveriesService } from './webhook-deliveries.service.js';
import { type EndpointWithSecret, WebhookEndpointsService } from './webhook-endpoints.service.js';

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('api/webhooks')
export class WebhooksController {
  constructor(
    private readonly endpoints: WebhookEndpointsService,
    private readonly deliveries: WebhookDeliveriesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List your webhook endpoints',
    description:
      'Your webhook endpoints, newest first, paginated. Their signing secrets are never shown again after creation or rotation.',
  })
  @ApiPage(WebhookResponse)
  @ApiProblems(400, 401, 404)
  list(
    @CurrentUser() user: UserWithProfile,
    @Query() query: PageQuery,
    @RequestUrl() url: string,
  ): Promise<Page<WebhookResponse>> {
    return paginate(
      this.config.publicBaseUrl,
      url,
      query,
      (w) => this.endpoints.list(user.id, w),
      presentEndpoint,
    );
  }

  @Post()
  @ApiOperation({
    summary: 'Create a webhook endpoint',
    description:
      'Registers a URL that receives your events as signed POSTs (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`). `events` empty means every event. The answer is the only time the secret (`whsec_…`) is shown. At most 10 endpoints per user; the URL must be https in production and may not resolve to a loopback, private, link-local, CGNAT or metadata address. Send an `Idempotency-Key` header to make a retry safe.',
  })
  @Idempotent()
  @ApiCreatedResponse({
    type: WebhookWithSecretResponse,
    description: 'The endpoint, with its signing secret (shown this once).',
  })
  @ApiProblems(400, 401, 409, 415)
  async create(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: CreateWebhookDto,
  ): Promise<WebhookWithSecretResponse> {
    return presentWithSecret(await this.endpoints.create(user.id, dto));
  }

  @Get(':id')
  @ApiOperation({
    summary: 'Read a webhook endpoint',
    description: 'One of your webhook endpoints, without its secret.',
  })
  @ApiOkResponse({ type: WebhookResponse, description: 'The endpoint.' })
  @ApiProblems(401, 404)
  async detail(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<WebhookResponse> {
    return presentEndpoint(await this.endpoints.get(user.id, id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change a webhook endpoint',
    description:
      'Changes its URL, description or events, or turns it off and on; turning it on clears `disabled_reason`.',
  })
  @ApiOkResponse({ type: WebhookResponse, description: 'The endpoint after the change.' })
  @ApiProblems(400, 401, 404, 415)
  async update(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: UpdateWebhookDto,
  ): Promise<WebhookResponse> {
    return presentEndpoint(await this.endpoints.update(user.id, id, dto));
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Delete a webhook endpoint',
    description: 'Deletes the endpoint and its delivery log; nothing more is sent to it.',
  })
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The endpoint is deleted.' })
  @ApiProblems(401, 404)
  async remove(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<void> {
    await this.endpoints.delete(user.id, id);
  }

  @Post(':id/rotate-secret')
  @ApiOperation({
    summary: 'Rotate the signing secret',
    description:
      'Issues a new secret and answers it (shown this once). For 24 hours both the new and the previous secret sign each delivery (two space-separated `v1,` signatures), so receivers can switch without losing any.',
  })
  @HttpCode(200)
  @ApiOkResponse({
    type: WebhookWithSecretResponse,
    description: 'The endpoint with its new secret.',
  })
  @ApiProblems(401, 404)
  async rotateSecret(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<WebhookWithSecretResponse> {
    return presentWithSecret(await this.endpoints.rotateSecret(user.id, id));
  }

  @Post(':id/test')
  @ApiOperation({
    summary: 'Send a test ping',
    description:
      'Sends a `ping` event to the endpoint now, signed like any other, and answers its delivery (pending until the worker has sent it).',
  })
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: WebhookDeliveryResponse,
    description: 'The ping’s delivery, queued.',
  })
  @ApiProblems(401, 404)
  async test(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<WebhookDeliveryResponse> {
    return presentDelivery(await this.deliveries.ping(user.id, id));
  }

  @Get(':id/deliveries')
  @ApiOperation({
    summary: 'List an endpoint’s deliveries',
    description:
      'The endpoint’s deliveries, newest first, paginated: status, attempts, the last status code or error, and when the next attempt is due.',
  })
  @ApiPage(WebhookDeliveryResponse)
  @ApiProblems(400, 401, 404)
  deliveryLog(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Query() query: PageQuery,
    @RequestUrl() url: string,
  ): Promise<Page<WebhookDeliveryResponse>> {
    return paginate(
      this.config.publicBaseUrl,
      url,
      query,
      (w) => this.deliveries.list(user.id, id, w),
      presentDelivery,
    );
  }

  @Post(':id/deliveries/:deliveryId/redeliver')
  @ApiOperation({
    summary: 'Redeliver an event',
    description:
      'Sends a finished delivery again, with the same `webhook-id` so receivers can tell a repeat. A delivery still pending is 409.',
  })
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: WebhookDeliveryResponse,
    description: 'The delivery, queued again.',
  })
  @ApiProblems(401, 404, 409)
  async redeliver(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Param('deliveryId', IdPipe) deliveryId: number,
  ): Promise<WebhookDeliveryResponse> {
    return presentDelivery(await this.deliveries.redeliver(user.id, id, deliveryId));
  }
}

export function presentEndpoint(endpoint: WebhookEndpoint): WebhookResponse {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    events: endpoint.events,
    is_active: endpoint.isActive,
    disabled_reason: endpoint.disabledReason,
    created_at: endpoint.createdAt.toISOString(),
  };
}

function presentWithSecret({ endpoint, secret }: EndpointWithSecret): WebhookWithSecretResponse {
  return { ...presentEndpoint(endpoint), secret };
}

function presentDelivery(delivery: WebhookDelivery): WebhookDeliveryResponse {
  return {
    id: delivery.id,
    event_id: delivery.eventId,
    event_type: delivery.eventType,
    status: delivery.status,
    attempts: delivery.attempts,
    last_status_code: delivery.lastStatusCode,
    last_error: delivery.lastError,
    next_attempt_at: delivery.nextAttemptAt?.toISOString() ?? null,
    created_at: delivery.createdAt.toISOString(),
    delivered_at: delivery.deliveredAt?.toISOString() ?? null,
  };
}
