import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Equals,
  IsBoolean,
  IsEmail,
  IsIn,
  IsOptional,
  IsString,
  IsObject,
  MaxLength,
  Validate,
  ValidateNested,
} from 'class-validator';
import { IMAGE_STYLES, type ImageStyle } from '@app/database';
import { OptionalNotNull, ToBoolean } from '../../http/transforms.js';
import { IsTimeZone } from './is-time-zone.validator.js';

/** Any subset of the switches: those left out keep their value. */
export class EmailNotificationsDto {
  @ApiPropertyOptional({
    example: false,
    description: 'A scheduled post failed, or its outcome is unknown.',
  })
  @OptionalNotNull()
  @IsBoolean()
  post_failed?: boolean;

  @ApiPropertyOptional({
    example: true,
    description: 'A connected account must be connected again.',
  })
  @OptionalNotNull()
  @IsBoolean()
  account_reconnect_required?: boolean;

  @ApiPropertyOptional({
    example: true,
    description: 'A run of a recurring schedule was skipped.',
  })
  @OptionalNotNull()
  @IsBoolean()
  schedule_run_skipped?: boolean;

  @ApiPropertyOptional({
    example: true,
    description: 'A webhook endpoint was disabled after repeated failures.',
  })
  @OptionalNotNull()
  @IsBoolean()
  webhook_disabled?: boolean;

  @ApiPropertyOptional({
    example: true,
    description: 'Monday morning: what was published last week, and how it did.',
  })
  @OptionalNotNull()
  @IsBoolean()
  weekly_digest?: boolean;
}

/** PUT: the whole profile; `email` is required, the rest keep their value when left out (as DRF). */
export class PutProfileDto {
  @ApiPropertyOptional({
    example: 'alice',
    readOnly: true,
    description: 'Read-only: sending another value is refused.',
  })
  @OptionalNotNull()
  @IsString()
  username?: string;

  @ApiProperty({ example: 'alice@example.com', maxLength: 254 })
  @IsString()
  @MaxLength(254)
  @IsEmail({}, { message: 'email must be a valid email address' })
  email: string;

  @ApiPropertyOptional({ example: 'Alice', maxLength: 150 })
  @OptionalNotNull()
  @IsString()
  @MaxLength(150)
  first_name?: string;

  @ApiPropertyOptional({ example: 'Martin', maxLength: 150 })
  @OptionalNotNull()
  @IsString()
  @MaxLength(150)
  last_name?: string;

  @ApiPropertyOptional({ example: 'Photographer in Lyon.', maxLength: 500 })
  @OptionalNotNull()
  @IsString()
  @MaxLength(500)
  bio?: string;

  @ApiPropertyOptional({ maxLength: 20, example: '+33 6 12 34 56 78' })
  @OptionalNotNull()
  @IsString()
  @MaxLength(20)
  phone_number?: string;

  @ApiPropertyOptional({ example: 'alice.pics', maxLength: 100 })
  @OptionalNotNull()
  @IsString()
  @MaxLength(100)
  instagram_username?: string;

  @ApiPropertyOptional({ example: '104729361512345', maxLength: 100 })
  @OptionalNotNull()
  @IsString()
  @MaxLength(100)
  facebook_page_id?: string;

  @ApiPropertyOptional({ example: 'alicepics', maxLength: 100 })
  @OptionalNotNull()
  @IsString()
  @MaxLength(100)
  twitter_username?: string;

  @ApiPropertyOptional({ example: 'realistic', enum: IMAGE_STYLES })
  @OptionalNotNull()
  @IsIn(IMAGE_STYLES)
  default_image_style?: ImageStyle;

  @ApiPropertyOptional({
    example: false,
    description: 'When true, a freshly generated image is validated on its own.',
  })
  @OptionalNotNull()
  @ToBoolean()
  @IsBoolean()
  auto_validate_images?: boolean;

  @ApiPropertyOptional({ example: 'Europe/Paris', description: 'An IANA time zone.' })
  @OptionalNotNull()
  @IsString()
  @Validate(IsTimeZone)
  timezone?: string;

  @ApiPropertyOptional({
    type: EmailNotificationsDto,
    example: { post_failed: false, weekly_digest: true },
    description: 'Email notification switches to change; those left out keep their value.',
  })
  @OptionalNotNull()
  @IsObject()
  @ValidateNested()
  @Type(() => EmailNotificationsDto)
  email_notifications?: EmailNotificationsDto;

  @ApiPropertyOptional({
    example: null,
    type: 'string',
    format: 'binary',
    nullable: true,
    description:
      'multipart/form-data only: a JPEG, PNG, WebP or GIF image. JSON `null` removes the avatar.',
  })
  @IsOptional()
  @Equals(null, {
    message: 'avatar must be uploaded as a file (multipart/form-data), or null to remove it',
  })
  avatar?: null;
}

/** PATCH: any subset (a field left out keeps its value; `null` is refused but for `avatar`). */
export class PatchProfileDto extends PartialType(PutProfileDto, { skipNullProperties: false }) {}
