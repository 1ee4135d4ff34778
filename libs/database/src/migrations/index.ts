import { InitialAuth1795979329251 } from './1795979329251-InitialAuth.js';
import { ImagesAndTags1795980829547 } from './1795980829547-ImagesAndTags.js';
import { SchedulerPostsAndAccounts1795983505487 } from './1795983505487-SchedulerPostsAndAccounts.js';
import { CountersSurviveCascadeAndSweepIndex1795986000000 } from './1795986000000-CountersSurviveCascadeAndSweepIndex.js';
import { SchedulesAndRuns1795989000000 } from './1795989000000-SchedulesAndRuns.js';
import { AdminSessions1795990000000 } from './1795990000000-AdminSessions.js';
import { EventsOutbox1796000000000 } from './1796000000000-EventsOutbox.js';
import { Webhooks1796001000000 } from './1796001000000-Webhooks.js';
import { ListCounters1796003000000 } from './1796003000000-ListCounters.js';
import { EmailNotifications1796002000000 } from './1796002000000-EmailNotifications.js';
import { ImageVersions1796005000000 } from './1796005000000-ImageVersions.js';
import { EventsCreatedAtClock1796000000001 } from './1796000000001-EventsCreatedAtClock.js';
import { PostTemplates1796006000000 } from './1796006000000-PostTemplates.js';
import { AnalyticsSnapshotsAndRollups1796007000000 } from './1796007000000-AnalyticsSnapshotsAndRollups.js';
import { ExportsAndMediaPurges1796008000000 } from './1796008000000-ExportsAndMediaPurges.js';
import { ExportKeysetIndexes1796008000001 } from './1796008000001-ExportKeysetIndexes.js';
import { ImageListVersions1796009000000 } from './1796009000000-ImageListVersions.js';
import { PostCountsByStatus1796009000001 } from './1796009000001-PostCountsByStatus.js';

/** Every migration, in order. `npm run migration:generate -- libs/database/src/migrations/Name` adds one; list it here. */
export const MIGRATIONS = [
  InitialAuth1795979329251,
  ImagesAndTags1795980829547,
  SchedulerPostsAndAccounts1795983505487,
  CountersSurviveCascadeAndSweepIndex1795986000000,
  SchedulesAndRuns1795989000000,
  AdminSessions1795990000000,
  EventsOutbox1796000000000,
  EventsCreatedAtClock1796000000001,
  Webhooks1796001000000,
  EmailNotifications1796002000000,
  ListCounters1796003000000,
  ImageVersions1796005000000,
  PostTemplates1796006000000,
  AnalyticsSnapshotsAndRollups1796007000000,
  ExportsAndMediaPurges1796008000000,
  ExportKeysetIndexes1796008000001,
  ImageListVersions1796009000000,
  PostCountsByStatus1796009000001,
];
