import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { UserWithProfile } from '../auth/user-accounts.js';
import { ApiProblems } from '../http/api-problems.decorator.js';
import { IdPipe } from '../http/id.pipe.js';
import { Idempotent } from '../http/idempotent.decorator.js';
import { ApiPage, type Page, paginate, PageQuery } from '../http/pagination.js';
import { RequestUrl } from '../http/request-url.decorator.js';
import { MediaUrlSigner } from '../media/media-url.signer.js';
import { CreateExportDto, ExportResponse } from './dto/export.dto.js';
import { presentExport } from './export.presenter.js';
import { ExportsService } from './exports.service.js';

@ApiTags('exports')
@ApiBearerAuth()
@Controller('api/exports')
export class ExportsController {
  constructor(
    private readonly exports: ExportsService,
    private readonly signer: MediaUrlSigner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Export your data',
    description:
      'Starts building a ZIP of your data: profile.json, images.json and images.csv, tags.json, posts.json and posts.csv, analytics.csv, schedules.json, templates.json, webhooks.json (never a secret or a token) and, with `include_media`, the image files and the avatar under `media/`. Each JSON file holds what the API answers for those objects, its URL fields naming the files’ paths in the archive. The answer is the pending export: poll `GET exports/{id}/` for its progress; once `ready` it has a signed `download_url` valid 24 hours, you are emailed and an `export.ready` event is sent. After 24 hours the file is deleted and the export is `expired`. One export per user can be pending or running at a time (409 otherwise). Send an `Idempotency-Key` header to make a retry safe.',
  })
  @HttpCode(202)
  @Idempotent()
  @ApiAcceptedResponse({ type: ExportResponse, description: 'The export, pending.' })
  @ApiProblems(400, 401, 409, 415)
  async create(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: CreateExportDto,
  ): Promise<ExportResponse> {
    return presentExport(
      await this.exports.create(user.id, dto.include_media ?? false),
      this.signer,
    );
  }

  @Get()
  @ApiOperation({
    summary: 'List your exports',
    description: 'Your exports, newest first, paginated.',
  })
  @ApiPage(ExportResponse)
  @ApiProblems(400, 401, 404)
  list(
    @CurrentUser() user: UserWithProfile,
    @Query() query: PageQuery,
    @RequestUrl() url: string,
  ): Promise<Page<ExportResponse>> {
    const now = Date.now();
    return paginate(
      this.config.publicBaseUrl,
      url,
      query,
      (w) => this.exports.list(user.id, w),
      (row) => presentExport(row, this.signer, now),
    );
  }

  @Get(':id')
  @ApiOperation({
    summary: 'Read an export',
    description:
      'One of your exports: its status and progress and, once ready, its size, signed download URL and when that expires. Another user’s export is 404.',
  })
  @ApiOkResponse({ type: ExportResponse, description: 'The export.' })
  @ApiProblems(401, 404)
  async detail(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<ExportResponse> {
    return presentExport(await this.exports.get(user.id, id), this.signer);
  }
}
