import { GeneratedImageQueries } from './generated-image/generated-image.queries.js';
import { PostingScheduleQueries } from './posting-schedule/posting-schedule.queries.js';
import { ScheduleRunQueries } from './schedule-run/schedule-run.queries.js';
import { ScheduledPostQueries } from './scheduled-post/scheduled-post.queries.js';
import { SocialAccountQueries } from './social-account/social-account.queries.js';

/** Every queries class, provided and exported by DatabaseModule. */
export const QUERIES = [
  GeneratedImageQueries,
  PostingScheduleQueries,
  ScheduleRunQueries,
  ScheduledPostQueries,
  SocialAccountQueries,
];
