import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { OptionalNotNull } from '../../http/transforms.js';
import { Matches, IsString, MaxLength } from 'class-validator';
import { IsTagNames } from './tag-names.js';

/** PUT: the create rules apply (prompt required). */
export class PutImageDto {
  @ApiProperty({ maxLength: 2000, example: 'A quiet harbour at dawn, fishing boats' })
  @IsString()
  @Matches(/\S/, { message: 'prompt may not be blank' })
  @MaxLength(2000)
  prompt: string;

  @ApiPropertyOptional({ maxLength: 2000, example: 'people, text' })
  @OptionalNotNull()
  @IsString()
  @MaxLength(2000)
  negative_prompt?: string;

  @ApiPropertyOptional({ maxLength: 1000, example: 'Brighter sky than the first try.' })
  @OptionalNotNull()
  @IsString()
  @MaxLength(1000)
  validation_notes?: string;

  @ApiPropertyOptional({
    type: [String],
    example: ['sea', 'dawn'],
    description: 'Replaces the image’s tags.',
  })
  @OptionalNotNull()
  @IsTagNames()
  tags?: string[];
}

export class PatchImageDto extends PartialType(PutImageDto, { skipNullProperties: false }) {}
