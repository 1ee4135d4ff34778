import { AccountDeletionQueries } from './user/account-deletion.queries.js';
import { AdminDashboardQueries } from './admin-dashboard.queries.js';
import { AnalyticsRollupQueries } from './post-analytics/analytics-rollup.queries.js';
import { DataExportQueries } from './data-export/data-export.queries.js';
import { UserDataQueries } from './data-export/user-data.queries.js';
import { MediaPurgeQueries } from './media-purge/media-purge.queries.js';
import { EventQueries } from './event/event.queries.js';
import { GeneratedImageQueries } from './generated-image/generated-image.queries.js';
import { ImageGenerationHistoryQueries } from './image-generation-history/image-generation-history.queries.js';
import { ImageTagQueries } from './image-tag/image-tag.queries.js';
import { ImageVersionQueries } from './image-version/image-version.queries.js';
import { NotificationPreferenceQueries } from './profile/notification-preferences.queries.js';
import { PasswordResetTokenQueries } from './password-reset/password-reset-token.queries.js';
import { PostAnalyticsQueries } from './post-analytics/post-analytics.queries.js';
import { PostTemplateQueries } from './post-template/post-template.queries.js';
import { PostingScheduleQueries } from './posting-schedule/posting-schedule.queries.js';
import { ScheduleRunQueries } from './schedule-run/schedule-run.queries.js';
import { ScheduledPostQueries } from './scheduled-post/scheduled-post.queries.js';
import { SentMailQueries } from './sent-mail/sent-mail.queries.js';
import { SocialAccountQueries } from './social-account/social-account.queries.js';
import { TokenFamilyQueries } from './token-family/token-family.queries.js';
import { UserImageStatsQueries } from './user-image-stats/user-image-stats.queries.js';
import { UserQueries } from './user/user.queries.js';
import { WebhookDeliveryQueries } from './webhook-delivery/webhook-delivery.queries.js';
import { WebhookEndpointQueries } from './webhook-endpoint/webhook-endpoint.queries.js';
import { WeeklyDigestQueries } from './weekly-digest/weekly-digest.queries.js';

/** Every queries class, provided and exported by DatabaseModule. */
export const QUERIES = [
  AdminDashboardQueries,
  AnalyticsRollupQueries,
  EventQueries,
  GeneratedImageQueries,
  ImageGenerationHistoryQueries,
  ImageTagQueries,
  ImageVersionQueries,
  PostAnalyticsQueries,
  PostingScheduleQueries,
  ScheduleRunQueries,
  ScheduledPostQueries,
  SocialAccountQueries,
  TokenFamilyQueries,
  UserImageStatsQueries,
  UserQueries,
  WebhookDeliveryQueries,
  WebhookEndpointQueries,
  NotificationPreferenceQueries,
  PasswordResetTokenQueries,
  SentMailQueries,
  WeeklyDigestQueries,
  PostTemplateQueries,
  DataExportQueries,
  UserDataQueries,
  MediaPurgeQueries,
  AccountDeletionQueries,
];
