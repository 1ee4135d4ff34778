import { ApiProperty } from '@nestjs/swagger';
import {
  IMAGE_STATUSES,
  IMAGE_STYLES,
  type ImageGenerationHistory,
  type ImageListRow,
  type ImageTag,
  type JsonObject,
} from '@app/database';

export class ImageResponse {
  @ApiProperty({ type: 'integer', example: 1 }) id: number;
  @ApiProperty({ example: 'alice', description: "The owner's username." }) user: string;
  @ApiProperty() prompt: string;
  @ApiProperty() negative_prompt: string;
  @ApiProperty({
    nullable: true,
    type: String,
    description: "The provider's own URL, null when it answered with bytes.",
  })
  image_url: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Signed, expiring URL of the PNG master.',
  })
  image_file: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Signed, expiring URL of the 300×300 JPEG thumbnail.',
  })
  thumbnail: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Signed, expiring URL of the JPEG rendition.',
  })
  image_url_display: string | null;
  @ApiProperty({
    type: 'integer',
    example: 1,
    description:
      'The current version: 1 as generated, one more per edit or restore (see `versions/`). The files above are its files, `width` and `height` its size.',
  })
  version: number;
  @ApiProperty({ enum: IMAGE_STATUSES }) status: string;
  @ApiProperty() error_message: string;
  @ApiProperty({ enum: IMAGE_STYLES }) style: string;
  @ApiProperty({ type: 'integer', example: 1024 }) width: number;
  @ApiProperty({ type: 'integer', example: 1024 }) height: number;
  @ApiProperty({ enum: ['standard', 'hd'] }) quality: string;
  @ApiProperty({ example: 'local' }) provider: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata: JsonObject;
  @ApiProperty({ nullable: true, type: Number, description: 'Seconds.' }) generation_time:
    number | null;
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 100 }) progress: number;
  @ApiProperty({ nullable: true, type: String }) validated_at: string | null;
  @ApiProperty() validation_notes: string;
  @ApiProperty({ type: [String] }) tags: string[];
  @ApiProperty() is_validated: boolean;
  @ApiProperty() is_ready_for_scheduling: boolean;
  @ApiProperty() created_at: string;
  @ApiProperty() updated_at: string;
}

export class ImageEnvelope {
  @ApiProperty() message: string;
  @ApiProperty({ type: ImageResponse }) image: ImageResponse;
}

export class ImageTaskEnvelope extends ImageEnvelope {
  @ApiProperty({ example: 'generate-image:1:2', description: 'The queue job id.' }) task_id: string;
}

export class ImageStatisticsResponse {
  @ApiProperty({ type: 'integer' }) total_images: number;
  @ApiProperty({ type: 'integer' }) pending_images: number;
  @ApiProperty({ type: 'integer' }) generating_images: number;
  @ApiProperty({ type: 'integer' }) generated_images: number;
  @ApiProperty({ type: 'integer' }) validated_images: number;
  @ApiProperty({ type: 'integer' }) rejected_images: number;
  @ApiProperty({ type: 'integer' }) failed_images: number;
  @ApiProperty({ description: 'Seconds, over images that have a generation time.' })
  average_generation_time: number;
  @ApiProperty({ description: 'Seconds.' }) total_generation_time: number;
}

export class HistoryResponse {
  @ApiProperty({ type: 'integer' }) id: number;
  @ApiProperty({ description: "The owner's username." }) user: string;
  @ApiProperty({ nullable: true, type: 'integer' }) image_id: number | null;
  @ApiProperty({
    enum: [
      'requested',
      'generated',
      'failed',
      'validate',
      'reject',
      'updated',
      'edited',
      'restored',
      'deleted',
    ],
  })
  action: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) details: JsonObject;
  @ApiProperty() created_at: string;
}

export class TagResponse {
  @ApiProperty({ type: 'integer' }) id: number;
  @ApiProperty() name: string;
  @ApiProperty() description: string;
  @ApiProperty() created_at: string;
  @ApiProperty({ type: 'integer' }) image_count: number;
}

export type SignUrl = (key: string | null) => string | null;

/** What presentImage reads: an entity, or a list row as `GeneratedImageQueries` answers it. */
export type PresentableImage = Omit<ImageListRow, 'tags'>;

export function presentImage(
  image: PresentableImage,
  username: string,
  tagNames: string[],
  sign: SignUrl,
): ImageResponse {
  return {
    id: image.id,
    user: username,
    prompt: image.prompt,
    negative_prompt: image.negativePrompt,
    image_url: image.imageUrl,
    image_file: sign(image.masterKey),
    thumbnail: sign(image.thumbnailKey),
    image_url_display: sign(image.renditionKey),
    version: image.version,
    status: image.status,
    error_message: image.errorMessage,
    style: image.style,
    width: image.width,
    height: image.height,
    quality: image.quality,
    provider: image.provider,
    metadata: image.metadata,
    generation_time: image.generationTime,
    progress: image.progress,
    validated_at: image.validatedAt?.toISOString() ?? null,
    validation_notes: image.validationNotes,
    tags: tagNames,
    is_validated: image.status === 'validated',
    is_ready_for_scheduling: image.status === 'validated' && image.renditionKey !== null,
    created_at: image.createdAt.toISOString(),
    updated_at: image.updatedAt.toISOString(),
  };
}

export function presentHistory(row: ImageGenerationHistory, username: string): HistoryResponse {
  return {
    id: row.id,
    user: username,
    image_id: row.imageId,
    action: row.action,
    details: row.details,
    created_at: row.createdAt.toISOString(),
  };
}

export function presentTag(tag: ImageTag, imageCount: number): TagResponse {
  return {
    id: tag.id,
    name: tag.name,
    description: tag.description,
    created_at: tag.createdAt.toISOString(),
    image_count: imageCount,
  };
}
