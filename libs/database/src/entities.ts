import { DataExport } from './data-export/data-export.entity.js';
import { MediaPurge } from './media-purge/media-purge.entity.js';
import { OutboxEvent } from './event/event.entity.js';
import { GeneratedImage } from './generated-image/generated-image.entity.js';
import { ImageGenerationHistory } from './image-generation-history/image-generation-history.entity.js';
import { ImageTag } from './image-tag/image-tag.entity.js';
import { ImageVersion } from './image-version/image-version.entity.js';
import { PostingSchedule } from './posting-schedule/posting-schedule.entity.js';
import { PostTemplate } from './post-template/post-template.entity.js';
import { PostAnalytics } from './post-analytics/post-analytics.entity.js';
import { PostAnalyticsSnapshot } from './post-analytics-snapshot/post-analytics-snapshot.entity.js';
import { PasswordResetToken } from './password-reset/password-reset-token.entity.js';
import { Profile } from './profile/profile.entity.js';
import { RefreshToken } from './refresh-token/refresh-token.entity.js';
import { ScheduleRun } from './schedule-run/schedule-run.entity.js';
import { ScheduledPost } from './scheduled-post/scheduled-post.entity.js';
import { SentMail } from './sent-mail/sent-mail.entity.js';
import { SocialAccount } from './social-account/social-account.entity.js';
import { TokenFamily } from './token-family/token-family.entity.js';
import { User } from './user/user.entity.js';
import { UserImageStats } from './user-image-stats/user-image-stats.entity.js';
import { WebhookDelivery } from './webhook-delivery/webhook-delivery.entity.js';
import { WebhookEndpoint } from './webhook-endpoint/webhook-endpoint.entity.js';

/** Every entity, listed explicitly: globs don't survive ESM and the jest/tsc layouts. */
export const ENTITIES = [
  User,
  Profile,
  TokenFamily,
  RefreshToken,
  GeneratedImage,
  ImageTag,
  ImageVersion,
  ImageGenerationHistory,
  UserImageStats,
  SocialAccount,
  ScheduledPost,
  PostAnalytics,
  PostAnalyticsSnapshot,
  PostingSchedule,
  ScheduleRun,
  OutboxEvent,
  WebhookEndpoint,
  WebhookDelivery,
  SentMail,
  PasswordResetToken,
  PostTemplate,
  DataExport,
  MediaPurge,
];
