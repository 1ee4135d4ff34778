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
  @ApiOperation({ summary: 'Your webhook endpoints (their secrets are never shown again).' })
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
  @Idempotent()
  @ApiOperation({
    summary:
      'Add an endpoint (at most 10). The answer carries its signing secret, shown this once.',
  })
  @ApiCreatedResponse({ type: WebhookWithSecretResponse })
  @ApiProblems(400, 401, 409, 415)
  async create(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: CreateWebhookDto,
  ): Promise<WebhookWithSecretResponse> {
    return presentWithSecret(await this.endpoints.create(user.id, dto));
  }

  @Get(':id')
  @ApiOperation({ summary: 'One of your webhook endpoints.' })
  @ApiOkResponse({ type: WebhookResponse })
  @ApiProblems(401, 404)
  async detail(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<WebhookResponse> {
    return presentEndpoint(await this.endpoints.get(user.id, id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change its URL, description or events, or turn it off and on (clears the reason).',
  })
  @ApiOkResponse({ type: WebhookResponse })
  @ApiProblems(400, 401, 404, 415)
  async update(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: UpdateWebhookDto,
  ): Promise<WebhookResponse> {
    return presentEndpoint(await this.endpoints.update(user.id, id, dto));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete the endpoint and its delivery log.' })
  @ApiNoContentResponse()
  @ApiProblems(401, 404)
  async remove(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<void> {
    await this.endpoints.delete(user.id, id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'A new signing secret, shown this once; for 24 hours both the old and the new one sign each delivery.',
  })
  @ApiOkResponse({ type: WebhookWithSecretResponse })
  @ApiProblems(401, 404)
  async rotateSecret(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<WebhookWithSecretResponse> {
    return presentWithSecret(await this.endpoints.rotateSecret(user.id, id));
  }

  @Post(':id/test')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a `ping` event to the endpoint now; answers its delivery.' })
  @ApiAcceptedResponse({ type: WebhookDeliveryResponse })
  @ApiProblems(401, 404)
  async test(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<WebhookDeliveryResponse> {
    return presentDelivery(await this.deliveries.ping(user.id, id));
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: "The endpoint's deliveries, newest first." })
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
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Send a delivery that succeeded or failed again: same event and `webhook-id`, a fresh round of retries.',
  })
  @ApiAcceptedResponse({ type: WebhookDeliveryResponse })
  @ApiProblems(401, 404, 409)
  async redeliver(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Param('deliveryId', IdPipe) deliveryId: number,
  ): Promise<WebhookDeliveryResponse> {
    return presentDelivery(await this.deliveries.redeliver(user.id, id, deliveryId));
  }
}

function presentEndpoint(endpoint: WebhookEndpoint): WebhookResponse {
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
