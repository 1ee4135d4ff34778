import { GeneratedImageQueries } from './generated-image/generated-image.queries.js';
import { ScheduledPostQueries } from './scheduled-post/scheduled-post.queries.js';
import { SocialAccountQueries } from './social-account/social-account.queries.js';

/** Every queries class, provided and exported by DatabaseModule. */
export const QUERIES = [GeneratedImageQueries, ScheduledPostQueries, SocialAccountQueries];
