import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsISO8601,
  IsOptional,
  IsString,
  MaxLength,
} from 'class-validator';
import { IMAGE_STATUSES, type ImageStatus } from '@app/database';
import { PageQuery } from '../../http/pagination.js';

export const IMAGE_ORDERINGS = [
  'created_at',
  '-created_at',
  'updated_at',
  '-updated_at',
  'status',
  '-status',
] as const;
export type ImageOrdering = (typeof IMAGE_ORDERINGS)[number];

export class ListImagesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: IMAGE_STATUSES })
  @IsOptional()
  @IsIn(IMAGE_STATUSES)
  status?: ImageStatus;

  @ApiPropertyOptional({
    type: String,
    example: 'sea,dawn',
    description: 'Comma-separated; images with any of them.',
  })
  @IsOptional()
  // `tags=a,b` and `tags=a&tags=b` alike; names compared as stored, lower-cased.
  @Transform(({ value }) =>
    typeof value === 'string' || Array.isArray(value)
      ? [value]
          .flat()
          .flatMap((part: unknown) => (typeof part === 'string' ? part.split(',') : [part]))
          .map((name) => (typeof name === 'string' ? name.trim().toLowerCase() : name))
          .filter((name) => name !== '')
      : value,
  )
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(50, { each: true })
  tags?: string[];

  @ApiPropertyOptional({ description: 'Words in the prompt or the validation notes.' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;

  @ApiPropertyOptional({ example: '2026-01-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true })
  created_after?: string;

  @ApiPropertyOptional({ example: '2026-12-31' })
  @IsOptional()
  @IsISO8601({ strict: true })
  created_before?: string;

  @ApiPropertyOptional({ enum: IMAGE_ORDERINGS, default: '-created_at' })
  @IsOptional()
  @IsIn(IMAGE_ORDERINGS)
  ordering?: ImageOrdering;
}
