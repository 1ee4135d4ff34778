import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean } from 'class-validator';
import { EXPORT_STATUSES } from '@app/database';
import { OptionalNotNull, ToBoolean } from '../../http/transforms.js';

export class CreateExportDto {
  @ApiPropertyOptional({
    example: true,
    default: false,
    description:
      'Also put the image files (originals, masters, renditions, thumbnails) and the avatar under `media/` in the archive. Without it the archive holds the data only, and its URL fields still name `media/…` paths.',
  })
  @OptionalNotNull()
  @ToBoolean()
  @IsBoolean()
  include_media?: boolean;
}

export class ExportResponse {
  @ApiProperty({ type: 'integer', example: 12 }) id: number;
  @ApiProperty({
    enum: EXPORT_STATUSES,
    example: 'ready',
    description:
      '`pending` (queued), `running` (being built), `ready` (download it), `failed` (see `error`), `expired` (the file was deleted after 24 hours).',
  })
  status: string;
  @ApiProperty({ example: true }) include_media: boolean;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    maximum: 100,
    example: 100,
    description: 'Percent of the rows and files written; 100 once ready.',
  })
  progress: number;
  @ApiProperty({
    type: 'integer',
    format: 'int64',
    nullable: true,
    example: 52428800,
    description: 'Bytes of the ZIP once ready; null before, and once failed.',
  })
  size: number | null;
  @ApiProperty({
    type: String,
    nullable: true,
    example:
      'https://api.example.com/media/exports/1/12-3f1c….zip?expires=1796090400&signature=Kq3…',
    description:
      'Signed URL of the ZIP while `ready`, valid until `expires_at`; null otherwise. The archive holds profile.json, images.json/.csv, tags.json, posts.json/.csv, analytics.csv, schedules.json, templates.json, webhooks.json and, when asked, media/.',
  })
  download_url: string | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    example: '2026-12-08T18:00:00.000Z',
    description: 'When the link expires and the file is deleted (24 hours after it was ready).',
  })
  expires_at: string | null;
  @ApiProperty({ example: '', description: 'Why the export failed; empty otherwise.' })
  error: string;
  @ApiProperty({ type: String, format: 'date-time', example: '2026-12-07T17:58:00.000Z' })
  created_at: string;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    example: '2026-12-07T18:00:00.000Z',
  })
  finished_at: string | null;
}
