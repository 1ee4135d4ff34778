import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
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
import type { Request } from 'express';
import { APP_CONFIG, type AppConfig } from '@app/common';
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
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('generate')
  @Idempotent()
  @ApiOperation({ summary: 'Ask for an image: answered at once (pending); a worker generates it.' })
  @ApiCreatedResponse({ type: ImageTaskEnvelope })
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
  @ApiOperation({ summary: 'Your images, filtered, ordered and paginated.' })
  @ApiPage(ImageResponse)
  @ApiProblems(400, 401, 404)
  async list(
    @CurrentUser() user: UserWithProfile,
    @Query() query: ListImagesQuery,
    @Req() request: Request,
  ): Promise<Page<ImageResponse>> {
    // One expiry for the page's sixty URLs, one HMAC key object for all of them.
    const sign = this.signer.signerAt();
    return paginate(
      this.config.publicBaseUrl,
      request.originalUrl,
      query,
      (w) => this.images.list(user.id, query, w),
      (row) => presentImage(row, user.username, row.tags, sign),
    );
  }

  @Get('statistics')
  @ApiOkResponse({ type: ImageStatisticsResponse })
  @ApiProblems(401)
  statistics(@CurrentUser() user: UserWithProfile): Promise<ImageStatisticsResponse> {
    return this.images.statistics(user.id);
  }

  @Get('history')
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
  @ApiOkResponse({ type: ImageResponse })
  @ApiProblems(401, 404)
  async detail(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<ImageResponse> {
    return this.present(user, await this.images.get(user.id, id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change prompt, negative_prompt, validation_notes or tags (tags are replaced).',
  })
  @ApiOkResponse({ type: ImageResponse })
  @ApiProblems(400, 401, 404, 415)
  async patch(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: PatchImageDto,
  ): Promise<ImageResponse> {
    return this.present(user, await this.images.update(user.id, id, dto));
  }

  @Put(':id')
  @ApiOperation({ summary: 'Full update: the create rules apply (prompt required).' })
  @ApiOkResponse({ type: ImageResponse })
  @ApiProblems(400, 401, 404, 415)
  async put(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: PutImageDto,
  ): Promise<ImageResponse> {
    return this.present(user, await this.images.update(user.id, id, dto));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete the image and its files; its history is kept.' })
  @ApiNoContentResponse()
  @ApiProblems(401, 404)
  async remove(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<void> {
    await this.images.delete(user.id, id);
  }

  @Patch(':id/validate')
  @ApiOperation({
    summary: 'Validate or reject a generated image (validated ⇄ rejected may change back).',
  })
  @ApiOkResponse({ type: ImageEnvelope })
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
  @HttpCode(202)
  @ApiOperation({ summary: 'Generate a failed or rejected image again from its parameters.' })
  @ApiAcceptedResponse({ type: ImageTaskEnvelope })
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
