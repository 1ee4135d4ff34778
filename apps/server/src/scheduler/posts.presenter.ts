import { ApiProperty } from '@nestjs/swagger';
import {
  type GeneratedImage,
  type JsonObject,
  POST_ERROR_CODES,
  POST_STATUSES,
  type PostAnalytics,
  type ScheduledPost,
  SOCIAL_PLATFORMS,
} from '@app/database';

export class PostImageDetails {
  @ApiProperty({ type: 'integer' }) id: number;
  @ApiProperty() prompt: string;
  @ApiProperty() status: string;
  @ApiProperty({ nullable: true, type: String }) thumbnail: string | null;
  @ApiProperty({ nullable: true, type: String }) image_url_display: string | null;
}

export class PostResponse {
  @ApiProperty({ type: 'integer' }) id: number;
  @ApiProperty({ description: "The owner's username." }) user: string;
  @ApiProperty({ nullable: true, type: 'integer' }) image: number | null;
  @ApiProperty({
    nullable: true,
    type: 'integer',
    example: 2,
    description:
      'The version of the image this post publishes: the one current when it was scheduled (later edits do not change it). Null when it has no image.',
  })
  image_version: number | null;
  @ApiProperty({ nullable: true, type: PostImageDetails }) image_details: PostImageDetails | null;
  @ApiProperty({ nullable: true, type: 'integer' }) account: number | null;
  @ApiProperty() scheduled_time: string;
  @ApiProperty({ enum: SOCIAL_PLATFORMS }) platform: string;
  @ApiProperty() caption: string;
  @ApiProperty({ description: 'Space-separated.' }) hashtags: string;
  @ApiProperty({ enum: POST_STATUSES }) status: string;
  @ApiProperty({ nullable: true, type: String }) posted_at: string | null;
  @ApiProperty() error_message: string;
  @ApiProperty({ nullable: true, enum: POST_ERROR_CODES, type: String }) error_code: string | null;
  @ApiProperty({ nullable: true, type: String }) platform_post_id: string | null;
  @ApiProperty({ nullable: true, type: String }) platform_post_url: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata: JsonObject;
  @ApiProperty() is_due: boolean;
  @ApiProperty() can_be_cancelled: boolean;
  @ApiProperty() is_published: boolean;
  @ApiProperty({
    nullable: true,
    type: 'integer',
    description: 'The recurring schedule that created it.',
  })
  schedule: number | null;
  @ApiProperty({
    nullable: true,
    type: 'integer',
    description:
      'The post template its caption and hashtags were rendered from, for reference (null when deleted).',
  })
  template: number | null;
  @ApiProperty() created_at: string;
  @ApiProperty() updated_at: string;
}

export class PostEnvelope {
  @ApiProperty() message: string;
  @ApiProperty({ type: PostResponse }) post: PostResponse;
}

export class PostTaskEnvelope extends PostEnvelope {
  @ApiProperty({ example: 'publish-post:1:2' }) task_id: string;
}

export class TaskResponse {
  @ApiProperty() message: string;
  @ApiProperty() task_id: string;
}

export class AnalyticsResponse {
  @ApiProperty({ type: 'integer' }) id: number;
  @ApiProperty({ type: 'integer' }) scheduled_post_id: number;
  @ApiProperty({ enum: SOCIAL_PLATFORMS }) platform: string;
  @ApiProperty({ type: 'integer' }) likes: number;
  @ApiProperty({ type: 'integer' }) comments: number;
  @ApiProperty({ type: 'integer' }) shares: number;
  @ApiProperty({ type: 'integer' }) views: number;
  @ApiProperty({ type: 'integer' }) reach: number;
  @ApiProperty({ type: 'integer' }) impressions: number;
  @ApiProperty({
    description: '(likes + comments + shares) / max(impressions, views, reach) × 100.',
  })
  engagement_rate: number;
  @ApiProperty({ nullable: true, type: String }) last_synced_at: string | null;
  @ApiProperty() created_at: string;
}

export class SchedulerStatisticsResponse {
  @ApiProperty({ type: 'integer', description: 'Posts waiting or being published.' })
  total_scheduled: number;
  @ApiProperty({ type: 'integer' }) total_posted: number;
  @ApiProperty({ type: 'integer' }) total_failed: number;
  @ApiProperty({ type: 'integer' }) total_cancelled: number;
  @ApiProperty({ type: 'integer', description: 'Scheduled in the future.' }) upcoming_posts: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { instagram: 3 },
  })
  posts_by_platform: Record<string, number>;
  @ApiProperty() average_engagement_rate: number;
}

export type SignUrl = (key: string | null) => string | null;

export function presentPost(
  post: ScheduledPost,
  username: string,
  image: Pick<GeneratedImage, 'id' | 'prompt' | 'status' | 'thumbnailKey' | 'renditionKey'> | null,
  sign: SignUrl,
  now = Date.now(),
): PostResponse {
  return {
    id: post.id,
    user: username,
    image: post.imageId,
    image_version: post.imageVersion,
    image_details: image
      ? {
          id: image.id,
          prompt: image.prompt,
          status: image.status,
          thumbnail: sign(image.thumbnailKey),
          image_url_display: sign(image.renditionKey),
        }
      : null,
    account: post.accountId,
    scheduled_time: post.scheduledTime.toISOString(),
    platform: post.platform,
    caption: post.caption,
    hashtags: post.hashtags,
    status: post.status,
    posted_at: post.postedAt?.toISOString() ?? null,
    error_message: post.errorMessage,
    error_code: post.errorCode,
    platform_post_id: post.platformPostId,
    platform_post_url: post.platformPostUrl,
    metadata: post.metadata,
    is_due: post.status === 'scheduled' && post.scheduledTime.getTime() <= now,
    can_be_cancelled: post.status === 'scheduled' || post.status === 'failed',
    is_published: post.status === 'posted',
    schedule: post.scheduleId,
    template: post.templateId,
    created_at: post.createdAt.toISOString(),
    updated_at: post.updatedAt.toISOString(),
  };
}

export function presentAnalytics(row: PostAnalytics): AnalyticsResponse {
  return {
    id: row.id,
    scheduled_post_id: row.scheduledPostId,
    platform: row.platform,
    likes: row.likes,
    comments: row.comments,
    shares: row.shares,
    views: row.views,
    reach: row.reach,
    impressions: row.impressions,
    engagement_rate: row.engagementRate,
    last_synced_at: row.lastSyncedAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
  };
}
