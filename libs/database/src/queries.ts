import { GeneratedImageQueries } from './generated-image/generated-image.queries.js';
import { ImageGenerationHistoryQueries } from './image-generation-history/image-generation-history.queries.js';
import { ImageTagQueries } from './image-tag/image-tag.queries.js';
import { ScheduledPostQueries } from './scheduled-post/scheduled-post.queries.js';
import { SocialAccountQueries } from './social-account/social-account.queries.js';
import { UserImageStatsQueries } from './user-image-stats/user-image-stats.queries.js';

/** Every queries class, provided and exported by DatabaseModule. */
export const QUERIES = [
  GeneratedImageQueries,
  ImageGenerationHistoryQueries,
  ImageTagQueries,
  ScheduledPostQueries,
  SocialAccountQueries,
  UserImageStatsQueries,
];
