import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import {
  IsIn,
  IsInt,
  IsISO8601,
  IsObject,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { SOCIAL_PLATFORMS, type SocialPlatform } from '@app/database';
import { MAX_ID } from '../../http/id.pipe.js';
import { OptionalNotNull, ToInteger } from '../../http/transforms.js';
import { HashtagsField } from './post.dto.js';

const VARIABLES_NOTE =
  'Variables in braces: `{prompt}`, `{style}`, `{tags}`, `{date}`, `{weekday}`, `{time}`, `{platform}`, `{account}`; `{{` and `}}` are literal braces. An unknown variable or a brace left open is refused when the template is saved.';

/** One platform's own text: what it gives replaces the template's caption or hashtags there. */
export class TemplateVariantDto {
  @ApiPropertyOptional({ maxLength: 2200, example: '{prompt} — on X, {weekday} at {time}' })
  caption?: string;

  @ApiPropertyOptional({
    maxLength: 2200,
    example: '#ai {tags}',
    description: 'Space-separated, or a list of strings.',
  })
  hashtags?: string;
}

/** The variants, one optional entry per platform (documentation of a map checked by the service). */
export class TemplateVariantsDto {
  @ApiPropertyOptional({ type: TemplateVariantDto }) instagram?: TemplateVariantDto;
  @ApiPropertyOptional({ type: TemplateVariantDto }) facebook?: TemplateVariantDto;
  @ApiPropertyOptional({ type: TemplateVariantDto }) twitter?: TemplateVariantDto;
  @ApiPropertyOptional({ type: TemplateVariantDto }) linkedin?: TemplateVariantDto;
  @ApiPropertyOptional({ type: TemplateVariantDto }) tiktok?: TemplateVariantDto;
}

/** POST and PUT: the whole template. */
export class CreateTemplateDto {
  @ApiProperty({ maxLength: 100, example: 'Daily picture' })
  @IsString()
  @Matches(/\S/, { message: 'name may not be blank' })
  @MaxLength(100)
  name: string;

  @ApiProperty({
    maxLength: 2200,
    example: '{prompt} ({style}), {weekday} {date} at {time}, via {account}',
    description: `The caption. ${VARIABLES_NOTE}`,
  })
  @IsString()
  @MaxLength(2200)
  caption: string;

  @HashtagsField('#aiart {tags}')
  hashtags?: string;

  @ApiPropertyOptional({
    type: TemplateVariantsDto,
    example: { twitter: { caption: '{prompt} #{weekday}', hashtags: '' } },
    description:
      'Per platform (instagram, facebook, twitter, linkedin, tiktok): a `caption` and/or `hashtags` used there instead of the template’s.',
  })
  @OptionalNotNull()
  @IsObject()
  variants?: Record<string, unknown>;
}

export class PatchTemplateDto extends PartialType(CreateTemplateDto, {
  skipNullProperties: false,
}) {}

export class PreviewTemplateDto {
  @ApiPropertyOptional({
    type: 'integer',
    example: 12,
    description:
      'One of your images: gives `{prompt}`, `{style}` and `{tags}`. Without it those stay as written.',
  })
  @OptionalNotNull()
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  image?: number;

  @ApiPropertyOptional({
    enum: SOCIAL_PLATFORMS,
    example: 'twitter',
    description: 'Preview this platform only (its variant); every platform when left out.',
  })
  @OptionalNotNull()
  @IsIn(SOCIAL_PLATFORMS)
  platform?: SocialPlatform;

  @ApiPropertyOptional({
    example: '2027-03-28T09:00:00+02:00',
    description:
      'The post’s time, for `{date}`, `{weekday}` and `{time}` in your time zone; now when left out.',
  })
  @OptionalNotNull()
  @IsISO8601({ strict: true })
  at?: string;
}

export class TemplateVariantResponse {
  @ApiPropertyOptional({ example: '{prompt} #{weekday}' }) caption?: string;
  @ApiPropertyOptional({ example: '#ai' }) hashtags?: string;
}

export class TemplateVariantsResponse {
  @ApiPropertyOptional({ type: TemplateVariantResponse }) instagram?: TemplateVariantResponse;
  @ApiPropertyOptional({ type: TemplateVariantResponse }) facebook?: TemplateVariantResponse;
  @ApiPropertyOptional({ type: TemplateVariantResponse }) twitter?: TemplateVariantResponse;
  @ApiPropertyOptional({ type: TemplateVariantResponse }) linkedin?: TemplateVariantResponse;
  @ApiPropertyOptional({ type: TemplateVariantResponse }) tiktok?: TemplateVariantResponse;
}

export class TemplateResponse {
  @ApiProperty({ type: 'integer', example: 4 }) id: number;
  @ApiProperty({ example: 'Daily picture' }) name: string;
  @ApiProperty({ example: '{prompt} ({style}), {weekday} {date} at {time}, via {account}' })
  caption: string;
  @ApiProperty({ example: '#aiart {tags}', description: 'Space-separated.' }) hashtags: string;
  @ApiProperty({
    type: TemplateVariantsResponse,
    example: { twitter: { caption: '{prompt} #{weekday}', hashtags: '' } },
  })
  variants: TemplateVariantsResponse;
  @ApiProperty({ example: '2026-12-07T17:00:00.000Z' }) created_at: string;
  @ApiProperty({ example: '2026-12-07T17:00:00.000Z' }) updated_at: string;
}

export class PlatformPreviewResponse {
  @ApiProperty({
    example: 'A lighthouse at dawn — Sunday 09:00\n\n#aiart #sea',
    description: 'The whole published text: caption, a blank line, hashtags.',
  })
  text: string;
  @ApiProperty({
    type: 'integer',
    example: 48,
    description: 'As the platform counts it (on X a URL is 23, CJK and emoji 2).',
  })
  length: number;
  @ApiProperty({ type: 'integer', example: 280 }) limit: number;
  @ApiProperty({
    example: true,
    description: 'Within the limit (and, on Instagram, at most 30 hashtags).',
  })
  fits: boolean;
}

export class PlatformPreviewsResponse {
  @ApiPropertyOptional({ type: PlatformPreviewResponse }) instagram?: PlatformPreviewResponse;
  @ApiPropertyOptional({ type: PlatformPreviewResponse }) facebook?: PlatformPreviewResponse;
  @ApiPropertyOptional({ type: PlatformPreviewResponse }) twitter?: PlatformPreviewResponse;
  @ApiPropertyOptional({ type: PlatformPreviewResponse }) linkedin?: PlatformPreviewResponse;
  @ApiPropertyOptional({ type: PlatformPreviewResponse }) tiktok?: PlatformPreviewResponse;
}

export class TemplatePreviewResponse {
  @ApiProperty({
    example: 'A lighthouse at dawn — Sunday 09:00\n\n#aiart #sea',
    description:
      'The published text for `platform`, or without a platform the template’s own text (no variant, `{platform}` as written).',
  })
  text: string;
  @ApiProperty({
    type: PlatformPreviewsResponse,
    description:
      'Per platform (the one asked, or all): its text, length, limit and whether it fits.',
  })
  platforms: PlatformPreviewsResponse;
}
