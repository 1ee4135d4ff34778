import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheckService,
  type HealthCheckResult,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import type { Response } from 'express';
import { Public } from '../http/public.decorator.js';
import { RedisHealthIndicator } from './redis.health.js';

const HEALTH_EXAMPLE = {
  status: 'ok',
  info: { database: { status: 'up' }, redis: { status: 'up' } },
  error: {},
  details: { database: { status: 'up' }, redis: { status: 'up' } },
};

@ApiTags('health')
@Controller('api/health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
  ) {}

  /** Kept in terminus's own shape (not problem+json): load balancers and monitors read it. */
  @Public()
  @Get()
  @ApiOkResponse({
    description: 'PostgreSQL and Redis answer.',
    schema: { example: HEALTH_EXAMPLE },
  })
  @ApiServiceUnavailableResponse({
    description: 'One of them does not; it is marked down.',
    schema: {
      example: {
        ...HEALTH_EXAMPLE,
        status: 'error',
        details: { database: { status: 'up' }, redis: { status: 'down', message: 'timeout' } },
      },
    },
  })
  async check(@Res({ passthrough: true }) response: Response): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.database.pingCheck('database', { timeout: 1000 }),
        () => this.redis.isHealthy('redis'),
      ]);
    } catch (error) {
      response.status(HttpStatus.SERVICE_UNAVAILABLE);
      return (error as { getResponse(): HealthCheckResult }).getResponse();
    }
  }
}
