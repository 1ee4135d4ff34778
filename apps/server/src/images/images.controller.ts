import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { APP_CONFIG, type AppConfig } from '@app/common';
import type { AuthenticatedUser } from '@app/database';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { UserWithProfile } from '../auth/user-accounts.js';
import { ApiProblems } from '../http/api-problems.decorator.js';
import { Idempotent } from '../http/idempotent.decorator.js';
import { IdPipe } from '../http/id.pipe.js';
import { ApiPage, type Page, paginate, PageQuery } from '../http/pagination.js';
import { MediaUrlSigner } from '../media/media-url.signer.js';
import { GenerateImageDto } from './dto/generate-image.dto.js';
import { ListImagesQuery } from './dto/list-images.query.js';
import { PatchImageDto, PutImageDto } from './dto/update-image.dto.js';
import { ValidateImageDto } from './dto/validate-image.dto.js';
import { ImageGenerationService } from './image-generation.service.js';
import { type EtagOf, ImageListCache } from './image-list.cache.js';
import {
  HistoryResponse,
  ImageEnvelope,
  ImageResponse,
  ImageStatisticsResponse,
  ImageTaskEnvelope,
  presentHistory,
  presentImage,
} from './images.presenter.js';
import { ImagesService, type ImageWithTags } from './images.service.js';

@ApiTags('images')
@ApiBearerAuth()
@Controller('api/images')
export class ImagesController {
  constructor(
    private readonly images: ImagesService,
    private readonly generation: ImageGenerationService,
    private readonly signer: MediaUrlSigner,
    private readonly listCache: ImageListCache,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('generate')
  @ApiOperation({
    summary: 'Generate an image',
    description:
      'Asks for an image. The answer comes at once with the image `pending`; a worker generates it with the configured provider and the image moves to `generated` (or `validated` when the profile validates automatically), or to `failed` with the provider’s reason. Send an `Idempotency-Key` header to make a retry safe.',
  })
  @Idempotent()
  @ApiCreatedResponse({
    type: ImageTaskEnvelope,
    description: 'The image, pending; poll it or wait for its event.',
  })
  @ApiProblems(400, 401, 415, 429)
  async generate(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: GenerateImageDto,
  ): Promise<ImageTaskEnvelope> {
    const created = await this.generation.generate(user, dto);
    return {
      message: 'Image generation started.',
      image: this.present(user, created),
      task_id: created.taskId,
    };
  }

  @Get()
  @ApiOperation({
    summary: 'List your images',
    description:
      'Your images, newest first unless `ordering` says otherwise, filtered by status, tags (any of), text in the prompt or notes, and creation dates; paginated.',
  })
  @ApiPage(ImageResponse)
  @ApiProblems(400, 401, 404)
  @Header('Content-Type', 'application/json; charset=utf-8')
  async list(
    @CurrentUser() user: AuthenticatedUser,
    @Query() query: ListImagesQuery,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<string> {
    // The JSON text of a Page<ImageResponse>: sent again from memory while the user's list is
    // unchanged (ImageListCache); one expiry and HMAC key object for the page's sixty URLs.
    const { body, etag } = await this.listCache.answer(
      user,
      request.originalUrl,
      (sign) =>
        paginate(
          this.config.publicBaseUrl,
          request.originalUrl,
          query,
          (w) => this.images.list(user.id, query, w),
          (row) => presentImage(row, user.username, row.tags, sign),
        ),
      // Express's own ETag function, run once per answer built rather than on every send.
      request.app.get('etag fn') as EtagOf | undefined,
    );
    // Set here, Express neither hashes the body again nor misses a matching If-None-Match (304).
    if (etag) response.setHeader('ETag', etag);
    return body;
  }

  @Get('statistics')
  @ApiOperation({
    summary: 'Image statistics',
    description:
      'How many of your images are in each status, and the average and total generation time.',
  })
  @ApiOkResponse({
    type: ImageStatisticsResponse,
    description: 'Counts per status and generation times.',
  })
  @ApiProblems(401)
  statistics(@CurrentUser() user: UserWithProfile): Promise<ImageStatisticsResponse> {
    return this.images.statistics(user.id);
  }

  @Get('history')
  @ApiOperation({
    summary: 'Image history',
    description:
      'What happened to your images, newest first: requested, generated, failed, validated, rejected, updated, deleted (kept after the image is deleted); paginated.',
  })
  @ApiPage(HistoryResponse)
  @ApiProblems(400, 401, 404)
  async history(
    @CurrentUser() user: UserWithProfile,
    @Query() query: PageQuery,
    @Req() request: Request,
  ): Promise<Page<HistoryResponse>> {
    return paginate(
      this.config.publicBaseUrl,
      request.originalUrl,
      query,
      (w) => this.images.history(user.id, w),
      (row) => presentHistory(row, user.username),
    );
  }

  @Get(':id')
  @ApiOperation({
    summary: 'Read an image',
    description: 'One of your images with its signed display URL, renditions and tags.',
  })
  @ApiOkResponse({ type: ImageResponse, description: 'The image.' })
  @ApiProblems(401, 404)
  async detail(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<ImageResponse> {
    return this.present(user, await this.images.get(user.id, id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change an image',
    description:
      'Changes `prompt`, `negative_prompt`, `validation_notes` or `tags` (the list sent replaces the image’s tags). The picture itself does not change.',
  })
  @ApiOkResponse({ type: ImageResponse, description: 'The image after the change.' })
  @ApiProblems(400, 401, 404, 415)
  async patch(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: PatchImageDto,
  ): Promise<ImageResponse> {
    return this.present(user, await this.images.update(user.id, id, dto));
  }

  @Put(':id')
  @ApiOperation({
    summary: 'Replace an image’s fields',
    description:
      'Full update of the writable fields; the creation rules apply (`prompt` required).',
  })
  @ApiOkResponse({ type: ImageResponse, description: 'The image after the change.' })
  @ApiProblems(400, 401, 404, 415)
  async put(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: PutImageDto,
  ): Promise<ImageResponse> {
    return this.present(user, await this.images.update(user.id, id, dto));
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Delete an image',
    description:
      'Deletes the image and its files. Its history rows stay, and a `deleted` row is added.',
  })
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The image is deleted.' })
  @ApiProblems(401, 404)
  async remove(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<void> {
    await this.images.delete(user.id, id);
  }

  @Patch(':id/validate')
  @ApiOperation({
    summary: 'Validate or reject an image',
    description:
      'Validates (`action: validate`) or rejects (`action: reject`) a generated image, with optional notes. A validated image may be rejected and back again; any other status is 409. Only validated images can be scheduled.',
  })
  @ApiOkResponse({
    type: ImageEnvelope,
    description: 'The image in its new status, with a message.',
  })
  @ApiProblems(400, 401, 404, 409, 415)
  async validate(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: ValidateImageDto,
  ): Promise<ImageEnvelope> {
    const result = await this.images.validate(user.id, id, dto.action, dto.validation_notes);
    return {
      message: dto.action === 'validate' ? 'Image validated.' : 'Image rejected.',
      image: this.present(user, result),
    };
  }

  @Post(':id/regenerate')
  @ApiOperation({
    summary: 'Generate an image again',
    description:
      'Generates a failed or rejected image again from its own parameters; it goes back to `pending`. Any other status is 409.',
  })
  @HttpCode(202)
  @ApiAcceptedResponse({ type: ImageTaskEnvelope, description: 'The image, pending again.' })
  @ApiProblems(401, 404, 409, 429)
  async regenerate(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<ImageTaskEnvelope> {
    const result = await this.generation.regenerate(user, id);
    return {
      message: 'Image regeneration started.',
      image: this.present(user, result),
      task_id: result.taskId,
    };
  }

  private present(user: UserWithProfile, { image, tags }: ImageWithTags): ImageResponse {
    return presentImage(image, user.username, tags, (key) => this.signer.signOrNull(key));
  }
}
