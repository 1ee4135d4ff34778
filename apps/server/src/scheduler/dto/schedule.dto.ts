import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import {
  IMAGE_STYLES,
  type ImageStyle,
  RUN_OUTCOMES,
  SCHEDULE_FREQUENCIES,
  type ScheduleFrequency,
  SOCIAL_PLATFORMS,
  type SocialPlatform,
} from '@app/database';
import { MAX_ID } from '../../http/id.pipe.js';
import { OptionalNotNull, ToBoolean, ToInteger, ToIntegers } from '../../http/transforms.js';
import { TIME_OF_DAY_PATTERN } from '../recurrence.js';
import { CaptionUnlessTemplate, HashtagsField, TemplateField } from './post.dto.js';
import { IsTagNames } from '../../images/dto/tag-names.js';

/** Tag names as the images keep them: trimmed and lower-cased. */
const ToTagNames = () =>
  Transform(({ value }) =>
    Array.isArray(value)
      ? value.map((tag) => (typeof tag === 'string' ? tag.trim().toLowerCase() : tag))
      : value,
  );

/** POST and PUT: the whole schedule. */
export class CreateScheduleDto {
  @ApiProperty({ maxLength: 100, example: 'Morning post' })
  @IsString()
  @Matches(/\S/, { message: 'name may not be blank' })
  @MaxLength(100)
  name: string;

  @ApiProperty({ example: 'weekly', enum: SCHEDULE_FREQUENCIES })
  @IsIn(SCHEDULE_FREQUENCIES)
  frequency: ScheduleFrequency;

  @ApiProperty({ example: '09:00', description: '`HH:MM` or `HH:MM:SS`, in `timezone`.' })
  @IsString()
  @Matches(TIME_OF_DAY_PATTERN, { message: 'time_of_day must be a time of day, HH:MM or HH:MM:SS' })
  time_of_day: string;

  @ApiPropertyOptional({
    example: 0,
    type: 'integer',
    minimum: 0,
    maximum: 6,
    nullable: true,
    description: '0 = Monday … 6 = Sunday. Required for weekly schedules, ignored otherwise.',
  })
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(0)
  @Max(6)
  weekday?: number | null;

  @ApiPropertyOptional({
    example: 1,
    type: 'integer',
    minimum: 1,
    maximum: 31,
    nullable: true,
    description:
      'Required for monthly schedules, ignored otherwise; 29–31 fall on the last day of shorter months.',
  })
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(31)
  day_of_month?: number | null;

  @ApiPropertyOptional({
    example: 'Europe/Paris',
    description: "IANA time zone; default: your profile's.",
  })
  @OptionalNotNull()
  @IsString()
  @MaxLength(64)
  timezone?: string;

  @ApiProperty({ enum: SOCIAL_PLATFORMS, isArray: true, example: ['instagram', 'facebook'] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn(SOCIAL_PLATFORMS, { each: true })
  platforms: SocialPlatform[];

  @ApiPropertyOptional({
    example: [3],
    type: 'integer',
    isArray: true,
    description:
      'Your accounts to post with, at most one per platform; a platform left out uses your only active account there.',
  })
  @OptionalNotNull()
  @ToIntegers()
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(5)
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(MAX_ID, { each: true })
  accounts?: number[];

  @ApiPropertyOptional({ example: true, default: true, description: 'false pauses the schedule.' })
  @OptionalNotNull()
  @ToBoolean()
  @IsBoolean()
  is_active?: boolean;

  @ApiPropertyOptional({
    example: 'A lighthouse at dawn, soft light',
    maxLength: 2000,
    description:
      'Generate a new image from this prompt before each occurrence. Without it, the schedule posts the oldest validated, never-posted image carrying one of `tags`.',
  })
  @OptionalNotNull()
  @IsString()
  @MaxLength(2000)
  prompt?: string;

  @ApiPropertyOptional({
    example: 'realistic',
    enum: IMAGE_STYLES,
    nullable: true,
    description: "Style of generated images; default: your profile's.",
  })
  @IsOptional()
  @IsIn(IMAGE_STYLES)
  style?: ImageStyle | null;

  @ApiPropertyOptional({
    type: [String],
    example: ['sea'],
    description: 'Tag names: given to generated images, or used to pick an existing one.',
  })
  @OptionalNotNull()
  @ToTagNames()
  @IsTagNames()
  tags?: string[];

  @CaptionUnlessTemplate('Good morning')
  caption?: string;

  @HashtagsField('#morning')
  hashtags?: string;

  @TemplateField(
    'rendered at each run, per platform, with that run’s image and account and the occurrence in your time zone; a platform whose text does not fit gets no post (the run says why).',
  )
  template?: number;
}

export class PatchScheduleDto extends PartialType(CreateScheduleDto, {
  skipNullProperties: false,
}) {}

export class ScheduleRunResponse {
  @ApiProperty({ type: 'integer' }) id: number;
  @ApiProperty({ type: 'integer' }) schedule: number;
  @ApiProperty({ description: 'The instant the schedule named.' }) occurrence_at: string;
  @ApiProperty({ enum: RUN_OUTCOMES }) outcome: string;
  @ApiProperty({ description: 'Why it was skipped, or which platforms got no post.' })
  reason: string;
  @ApiProperty({ nullable: true, type: 'integer' }) image: number | null;
  @ApiProperty({ type: 'integer' }) posts_created: number;
  @ApiProperty({ type: 'integer', isArray: true }) posts: number[];
  @ApiProperty({ nullable: true, type: String }) ran_at: string | null;
  @ApiProperty() created_at: string;
}

export class ScheduleResponse {
  @ApiProperty({ type: 'integer' }) id: number;
  @ApiProperty({ description: "The owner's username." }) user: string;
  @ApiProperty() name: string;
  @ApiProperty({ example: 'weekly', enum: SCHEDULE_FREQUENCIES }) frequency: string;
  @ApiProperty({ example: '09:00:00' }) time_of_day: string;
  @ApiProperty({ example: 0, nullable: true, type: 'integer' }) weekday: number | null;
  @ApiProperty({ example: 1, nullable: true, type: 'integer' }) day_of_month: number | null;
  @ApiProperty() timezone: string;
  @ApiProperty({ enum: SOCIAL_PLATFORMS, isArray: true }) platforms: string[];
  @ApiProperty({ example: [3], type: 'integer', isArray: true }) accounts: number[];
  @ApiProperty({ example: true }) is_active: boolean;
  @ApiProperty({ example: 'A lighthouse at dawn, soft light' }) prompt: string;
  @ApiProperty({ example: 'realistic', nullable: true, enum: IMAGE_STYLES, type: String }) style:
    string | null;
  @ApiProperty({ type: [String] }) tags: string[];
  @ApiProperty({ description: 'Empty when the schedule renders a template.' }) caption: string;
  @ApiProperty({ description: 'Empty when the schedule renders a template.' }) hashtags: string;
  @ApiProperty({
    nullable: true,
    type: 'integer',
    example: 4,
    description: 'The post template rendered at each run, or null.',
  })
  template: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'Null while paused.' })
  next_run_at: string | null;
  @ApiProperty({ type: [ScheduleRunResponse], description: 'The latest runs, newest first.' })
  recent_runs: ScheduleRunResponse[];
  @ApiProperty() created_at: string;
  @ApiProperty() updated_at: string;
}
