import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { UserWithProfile } from '../auth/user-accounts.js';
import { ApiProblems } from '../http/api-problems.decorator.js';
import { IdPipe } from '../http/id.pipe.js';
import { ApiPage, type Page, paginate, PageQuery } from '../http/pagination.js';
import { MediaUrlSigner } from '../media/media-url.signer.js';
import { EditImageDto } from './dto/edit-image.dto.js';
import { ImageEditingService } from './editing/image-editing.service.js';
import {
  ImagePresetResponse,
  ImageVersionResponse,
  presentPresets,
  presentVersion,
} from './editing/image-versions.presenter.js';
import { ImageResponse, presentImage } from './images.presenter.js';
import type { ImageWithTags } from './images.service.js';

@ApiTags('images')
@ApiBearerAuth()
@Controller('api/images')
export class ImageEditingController {
  constructor(
    private readonly editing: ImageEditingService,
    private readonly signer: MediaUrlSigner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('presets')
  @ApiOperation({
    summary: 'Platform sizes',
    description:
      'The sizes the `preset` operation resizes to, one per platform format (a cover resize that keeps what draws the eye in frame).',
  })
  @ApiOkResponse({ type: [ImagePresetResponse], description: 'Every preset, with its size.' })
  @ApiProblems(401)
  presets(): ImagePresetResponse[] {
    return presentPresets();
  }

  @Post(':id/edit')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Edit an image',
    description:
      'Applies `operations` in order, as a new version: the current version’s list plus these, applied to the original (version 1), so nothing is lost and any version can be restored. The renditions are made again; the image keeps its status. Allowed on `generated` and `validated` images (else 409). A bad operation (unknown, a crop outside the picture, a resize past 10,000 pixels a side or `IMAGE_MAX_PIXELS`) is a 400 naming `operations[i]`, and nothing is written. Emits `image.edited`.',
  })
  @ApiOkResponse({ type: ImageResponse, description: 'The image at its new version.' })
  @ApiProblems(400, 401, 404, 409, 415)
  async edit(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: EditImageDto,
  ): Promise<ImageResponse> {
    return this.present(user, await this.editing.edit(user.id, id, dto.operations));
  }

  @Get(':id/versions')
  @ApiOperation({
    summary: 'List an image’s versions',
    description:
      'Every version of the image, newest first, with its operation list and files; paginated.',
  })
  @ApiPage(ImageVersionResponse)
  @ApiProblems(400, 401, 404)
  async versions(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Query() query: PageQuery,
    @Req() request: Request,
  ): Promise<Page<ImageVersionResponse>> {
    const sign = this.signer.signerAt();
    let current = 1;
    return paginate(
      this.config.publicBaseUrl,
      request.originalUrl,
      query,
      async (window) => {
        const { image, count, rows } = await this.editing.list(user.id, id, window);
        current = image.version;
        return { count, rows };
      },
      (row) => presentVersion(row, current, sign),
    );
  }

  @Post(':id/versions/:version/restore')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Restore a version',
    description:
      'Makes a new version with that version’s operation list and files (nothing is rendered; the versions in between stay). Allowed on `generated` and `validated` images (else 409). Emits `image.edited`.',
  })
  @ApiOkResponse({ type: ImageResponse, description: 'The image at its new version.' })
  @ApiProblems(401, 404, 409)
  async restore(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Param('version', IdPipe) version: number,
  ): Promise<ImageResponse> {
    return this.present(user, await this.editing.restore(user.id, id, version));
  }

  private present(user: UserWithProfile, { image, tags }: ImageWithTags): ImageResponse {
    return presentImage(image, user.username, tags, (key) => this.signer.signOrNull(key));
  }
}
