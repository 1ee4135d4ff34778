import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, MaxLength } from 'class-validator';
import {
  POST_STATUSES,
  type PostStatus,
  SOCIAL_PLATFORMS,
  type SocialPlatform,
} from '@app/database';
import { PageQuery } from '../../http/pagination.js';

export const POST_ORDERINGS = [
  'scheduled_time',
  '-scheduled_time',
  'created_at',
  '-created_at',
  'posted_at',
  '-posted_at',
  'status',
  '-status',
] as const;
export type PostOrdering = (typeof POST_ORDERINGS)[number];

export class ListPostsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: POST_STATUSES })
  @IsOptional()
  @IsIn(POST_STATUSES)
  status?: PostStatus;

  @ApiPropertyOptional({ enum: SOCIAL_PLATFORMS })
  @IsOptional()
  @IsIn(SOCIAL_PLATFORMS)
  platform?: SocialPlatform;

  @ApiPropertyOptional({ description: 'Scheduled at or after (ISO 8601).' })
  @IsOptional()
  @IsISO8601({ strict: true })
  start_date?: string;

  @ApiPropertyOptional({
    description: 'Scheduled at or before (ISO 8601; a bare date includes that day).',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  end_date?: string;

  @ApiPropertyOptional({ description: 'Words in the caption or hashtags.' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;

  @ApiPropertyOptional({ enum: POST_ORDERINGS, default: '-scheduled_time' })
  @IsOptional()
  @IsIn(POST_ORDERINGS)
  ordering?: PostOrdering;
}
