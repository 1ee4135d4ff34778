import { ApiProperty } from '@nestjs/swagger';
import type { ImageVersion, JsonObject } from '@app/database';
import { IMAGE_PRESETS } from './image-operations.js';
import type { SignUrl } from '../images.presenter.js';

export class ImageVersionResponse {
  @ApiProperty({ type: 'integer', example: 2 }) version: number;
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: 'The whole list applied to the original (version 1 has none).',
    example: [{ op: 'rotate', degrees: 90 }],
  })
  operations: JsonObject[];
  @ApiProperty({
    nullable: true,
    type: 'integer',
    description: 'The version this one restored, when it was made by a restore.',
  })
  restored_from: number | null;
  @ApiProperty({ type: 'integer', example: 1024 }) width: number;
  @ApiProperty({ type: 'integer', example: 1024 }) height: number;
  @ApiProperty({ type: String, description: 'Signed, expiring URL of the PNG master.' })
  image_file: string;
  @ApiProperty({ type: String, description: 'Signed, expiring URL of the JPEG rendition.' })
  image_url_display: string;
  @ApiProperty({ type: String, description: 'Signed, expiring URL of the 300×300 thumbnail.' })
  thumbnail: string;
  @ApiProperty({ description: 'Whether this is the image’s current version.' }) is_current: boolean;
  @ApiProperty() created_at: string;
}

export class ImagePresetResponse {
  @ApiProperty({ example: 'instagram_portrait' }) name: string;
  @ApiProperty({ type: 'integer', example: 1080 }) width: number;
  @ApiProperty({ type: 'integer', example: 1350 }) height: number;
}

export function presentVersion(
  row: ImageVersion,
  currentVersion: number,
  sign: SignUrl,
): ImageVersionResponse {
  return {
    version: row.version,
    operations: row.operations,
    restored_from: row.restoredFrom,
    width: row.width,
    height: row.height,
    image_file: sign(row.masterKey)!,
    image_url_display: sign(row.renditionKey)!,
    thumbnail: sign(row.thumbnailKey)!,
    is_current: row.version === currentVersion,
    created_at: row.createdAt.toISOString(),
  };
}

export function presentPresets(): ImagePresetResponse[] {
  return Object.entries(IMAGE_PRESETS).map(([name, size]) => ({ name, ...size }));
}
