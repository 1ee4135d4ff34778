import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, Matches, IsString, Max, MaxLength, Min } from 'class-validator';
import {
  IMAGE_QUALITIES,
  IMAGE_STYLES,
  type ImageQualityName,
  type ImageStyle,
} from '@app/database';
import { OptionalNotNull, ToInteger } from '../../http/transforms.js';
import { IsTagNames } from './tag-names.js';

export class GenerateImageDto {
  @ApiProperty({ maxLength: 2000, example: 'A lighthouse on a cliff at dawn' })
  @IsString()
  @Matches(/\S/, { message: 'prompt may not be blank' })
  @MaxLength(2000)
  prompt: string;

  @ApiPropertyOptional({ maxLength: 2000, example: 'blurry, text' })
  @OptionalNotNull()
  @IsString()
  @MaxLength(2000)
  negative_prompt?: string;

  @ApiPropertyOptional({
    example: 'realistic',
    enum: IMAGE_STYLES,
    description: "Default: the profile's default_image_style.",
  })
  @OptionalNotNull()
  @IsIn(IMAGE_STYLES)
  style?: ImageStyle;

  @ApiPropertyOptional({
    type: 'integer',
    example: 1024,
    minimum: 256,
    maximum: 2048,
    default: 1024,
  })
  @OptionalNotNull()
  @ToInteger()
  @IsInt()
  @Min(256)
  @Max(2048)
  width?: number;

  @ApiPropertyOptional({
    type: 'integer',
    example: 1024,
    minimum: 256,
    maximum: 2048,
    default: 1024,
  })
  @OptionalNotNull()
  @ToInteger()
  @IsInt()
  @Min(256)
  @Max(2048)
  height?: number;

  @ApiPropertyOptional({ example: 'standard', enum: IMAGE_QUALITIES, default: 'standard' })
  @OptionalNotNull()
  @IsIn(IMAGE_QUALITIES)
  quality?: ImageQualityName;

  @ApiPropertyOptional({
    type: [String],
    example: ['sea', 'dawn'],
    description: 'Tag names (≤50 each), lower-cased.',
  })
  @OptionalNotNull()
  @IsTagNames()
  tags?: string[];
}
