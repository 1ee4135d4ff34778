import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsISO8601,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { SOCIAL_PLATFORMS, type SocialPlatform } from '@app/database';
import { MAX_ID } from '../../http/id.pipe.js';
import { OptionalNotNull, ToInteger } from '../../http/transforms.js';

/** `hashtags` as a space-separated string; a list of strings is accepted and joined. */
export const ToHashtagString = () =>
  Transform(({ value }) =>
    Array.isArray(value) && value.every((tag) => typeof tag === 'string')
      ? value
          .map((tag: string) => tag.trim())
          .filter(Boolean)
          .join(' ')
      : typeof value === 'string'
        ? value.trim().split(/\s+/).filter(Boolean).join(' ')
        : value,
  );

/** An optional `hashtags` field: a space-separated string or a list, within the caption limit. */
export const HashtagsField = (example?: string) =>
  applyDecorators(
    ApiPropertyOptional({
      ...(example === undefined ? {} : { example }),
      description: 'Space-separated, or a list of strings.',
    }),
    OptionalNotNull(),
    ToHashtagString(),
    IsString(),
    MaxLength(2200),
  );

/**
 * `template` (one of the user's post templates) instead of `caption`/`hashtags`: giving both is a
 * 400 naming `template`; giving neither, a 400 naming `caption` (see `CaptionUnlessTemplate`).
 */
export const TemplateField = (rendered: string) =>
  applyDecorators(
    ApiPropertyOptional({
      type: 'integer',
      example: 4,
      description: `One of your post templates, instead of \`caption\` and \`hashtags\`: ${rendered}`,
    }),
    OptionalNotNull(),
    ToInteger(),
    IsInt(),
    Min(1),
    Max(MAX_ID),
    ValidateBy({
      name: 'templateOrText',
      validator: {
        validate: (_value, args) => {
          const body = args?.object as { caption?: unknown; hashtags?: unknown };
          return body.caption === undefined && body.hashtags === undefined;
        },
        defaultMessage: () => 'Give either template, or caption and hashtags, not both.',
      },
    }),
  );

/** `caption`, required unless the body names a `template`. */
export const CaptionUnlessTemplate = (example: string) =>
  applyDecorators(
    ApiPropertyOptional({
      maxLength: 2200,
      example,
      description: 'Required unless `template` is given.',
    }),
    ValidateIf(
      (body: { template?: unknown; caption?: unknown }) =>
        body.template === undefined || body.caption !== undefined,
    ),
    IsString({ message: 'caption must be a string (it is required unless template is given)' }),
    MaxLength(2200),
  );

export class SchedulePostDto {
  @ApiProperty({ type: 'integer', example: 12, description: 'One of your validated images.' })
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  image: number;

  @ApiProperty({
    example: '2026-12-01T09:00:00+01:00',
    description: 'In the future, with an offset.',
  })
  @IsISO8601({ strict: true })
  scheduled_time: string;

  @ApiProperty({ example: 'instagram', enum: SOCIAL_PLATFORMS })
  @IsIn(SOCIAL_PLATFORMS)
  platform: SocialPlatform;

  @CaptionUnlessTemplate('Dawn over the harbour')
  caption?: string;

  @HashtagsField('#sea #dawn')
  hashtags?: string;

  @TemplateField(
    'rendered now for this platform, with the image, the account and `scheduled_time` in your time zone; the text must fit the platform.',
  )
  template?: number;

  @ApiPropertyOptional({
    type: 'integer',
    example: 3,
    description: 'Your account on that platform; optional when you have exactly one usable.',
  })
  @OptionalNotNull()
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  account?: number;
}

/** PUT: time and caption required (the create rules); PATCH: any of them. */
export class PutPostDto {
  @ApiProperty({ example: '2026-12-01T09:00:00+01:00' })
  @IsISO8601({ strict: true })
  scheduled_time: string;

  @ApiProperty({ example: 'Sunrise over the bay', maxLength: 2200 })
  @IsString()
  @MaxLength(2200)
  caption: string;

  @HashtagsField()
  hashtags?: string;
}

export class PatchPostDto {
  @ApiPropertyOptional({ example: '2026-12-01T09:00:00+01:00' })
  @OptionalNotNull()
  @IsISO8601({ strict: true })
  scheduled_time?: string;

  @ApiPropertyOptional({ example: 'Sunrise over the bay', maxLength: 2200 })
  @OptionalNotNull()
  @IsString()
  @MaxLength(2200)
  caption?: string;

  @HashtagsField()
  hashtags?: string;
}

export class RepublishDto {
  @ApiPropertyOptional({
    example: '2026-12-02T09:00:00+01:00',
    description: 'When to publish the copy; now when left out.',
  })
  @OptionalNotNull()
  @IsISO8601({ strict: true })
  scheduled_time?: string;
}
