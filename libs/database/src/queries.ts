import { AdminDashboardQueries } from './admin-dashboard.queries.js';
import { GeneratedImageQueries } from './generated-image/generated-image.queries.js';
import { PostAnalyticsQueries } from './post-analytics/post-analytics.queries.js';
import { ScheduledPostQueries } from './scheduled-post/scheduled-post.queries.js';
import { SocialAccountQueries } from './social-account/social-account.queries.js';
import { TokenFamilyQueries } from './token-family/token-family.queries.js';
import { UserQueries } from './user/user.queries.js';

/** Every queries class, provided and exported by DatabaseModule. */
export const QUERIES = [
  AdminDashboardQueries,
  GeneratedImageQueries,
  PostAnalyticsQueries,
  ScheduledPostQueries,
  SocialAccountQueries,
  TokenFamilyQueries,
  UserQueries,
];
