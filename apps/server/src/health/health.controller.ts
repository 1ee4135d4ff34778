import { Controller, Get, HttpStatus, Req, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiOperation,
} from '@nestjs/swagger';
import {
  HealthCheckService,
  type HealthCheckResult,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import type { Request, Response } from 'express';
import { buildProblem, PROBLEM_CONTENT_TYPE, type ProblemDocument } from '@app/common';
import { Public } from '../http/public.decorator.js';
import { RedisHealthIndicator } from './redis.health.js';
import { StorageHealthIndicator } from './storage.health.js';

const HEALTH_EXAMPLE = {
  status: 'ok',
  info: {
    database: { status: 'up' },
    redis: { status: 'up' },
    storage: { status: 'up', kind: 's3', bucket: 'media' },
  },
  error: {},
  details: {
    database: { status: 'up' },
    redis: { status: 'up' },
    storage: { status: 'up', kind: 's3', bucket: 'media' },
  },
};

@ApiTags('health')
@Controller('api/health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly storage: StorageHealthIndicator,
  ) {}

  /**
   * Up: terminus's own shape, which load balancers and monitors read. Down: like every error, a
   * problem document (503), still carrying terminus's `info`, `error` and `details` members.
   */
  @Public()
  @Get()
  @ApiOperation({
    summary: 'Health',
    description:
      "Whether this process reaches PostgreSQL, Redis and the media store (`storage`: the S3 bucket under `MEDIA_STORAGE=s3`, this machine's disk under `local`). Needs no token; load balancers poll it.",
  })
  @ApiOkResponse({
    description: 'PostgreSQL, Redis and the media store answer.',
    schema: { example: HEALTH_EXAMPLE },
  })
  @ApiServiceUnavailableResponse({
    description: 'One of them does not; it is marked down.',
    content: {
      [PROBLEM_CONTENT_TYPE]: {
        schema: {
          allOf: [{ $ref: '#/components/schemas/ProblemResponse' }],
          example: {
            type: 'urn:image-automation:problem:service_unavailable',
            title: 'Service Unavailable',
            status: 503,
            detail: 'Not healthy: redis is down.',
            code: 'service_unavailable',
            instance: '/api/health',
            info: { database: { status: 'up' } },
            error: { redis: { status: 'down', message: 'timeout' } },
            details: { database: { status: 'up' }, redis: { status: 'down', message: 'timeout' } },
          },
        },
      },
    },
  })
  async check(
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<HealthCheckResult | (ProblemDocument & Omit<HealthCheckResult, 'status'>)> {
    try {
      return await this.health.check([
        () => this.database.pingCheck('database', { timeout: 1000 }),
        () => this.redis.isHealthy('redis'),
        () => this.storage.isHealthy('storage'),
      ]);
    } catch (error) {
      const {
        info,
        error: down,
        details,
      } = (error as { getResponse(): HealthCheckResult }).getResponse();
      const status = HttpStatus.SERVICE_UNAVAILABLE;
      response.status(status).type(PROBLEM_CONTENT_TYPE);
      const problem = buildProblem(
        status,
        'service_unavailable',
        `Not healthy: ${Object.keys(down ?? {}).join(', ') || 'a dependency'} is down.`,
        undefined,
        request.originalUrl.split('?')[0],
      );
      return { ...problem, info, error: down, details };
    }
  }
}
