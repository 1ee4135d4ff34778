import { Module } from '@nestjs/common';
import { BuildExportProcessor } from './build-export.processor.js';
import { EXPORT_SECTIONS, type ExportSection } from './export-section.js';
import { ExportsController } from './exports.controller.js';
import { ExportsService } from './exports.service.js';
import { ExportsSweep } from './exports.sweep.js';
import { AnalyticsSection } from './sections/analytics.section.js';
import { ImagesSection } from './sections/images.section.js';
import { MediaSection } from './sections/media.section.js';
import { PostsSection } from './sections/posts.section.js';
import { ProfileSection } from './sections/profile.section.js';
import { SchedulesSection } from './sections/schedules.section.js';
import { TagsSection } from './sections/tags.section.js';
import { TemplatesSection } from './sections/templates.section.js';
import { WebhooksSection } from './sections/webhooks.section.js';

/**
 * The archive's sections, in the order their files are written. Adding a kind of data to the
 * export is a class implementing ExportSection, listed here.
 */
const SECTIONS = [
  ProfileSection,
  ImagesSection,
  TagsSection,
  PostsSection,
  AnalyticsSection,
  SchedulesSection,
  TemplatesSection,
  WebhooksSection,
  MediaSection,
];

/**
 * Data exports: the API, the worker's streamed ZIP build on the `exports` queue, and the
 * scheduler's sweep (expiry, lost jobs).
 */
@Module({
  controllers: [ExportsController],
  providers: [
    ExportsService,
    BuildExportProcessor,
    ExportsSweep,
    ...SECTIONS,
    {
      provide: EXPORT_SECTIONS,
      inject: SECTIONS,
      useFactory: (...sections: ExportSection[]) => sections,
    },
  ],
  exports: [ExportsService],
})
export class ExportsModule {}
