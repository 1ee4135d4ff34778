import { Body, Controller, Get, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiTags, ApiOperation } from '@nestjs/swagger';
import type { Request } from 'express';
import { Inject } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { UserWithProfile } from '../auth/user-accounts.js';
import { ApiProblems } from '../http/api-problems.decorator.js';
import { ApiPage, type Page, paginate, PageQuery } from '../http/pagination.js';
import { CreateTagDto } from './dto/create-tag.dto.js';
import { presentTag, TagResponse } from './images.presenter.js';
import { ImageTagsService } from './image-tags.service.js';

@ApiTags('images')
@ApiBearerAuth()
@Controller('api/images/tags')
export class ImageTagsController {
  constructor(
    private readonly tags: ImageTagsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List your tags',
    description: 'Your own tags, with how many of your images carry each, alphabetical, paginated.',
  })
  @ApiPage(TagResponse)
  @ApiProblems(400, 401, 404)
  async list(
    @CurrentUser() user: UserWithProfile,
    @Query() query: PageQuery,
    @Req() request: Request,
  ): Promise<Page<TagResponse>> {
    return paginate(
      this.config.publicBaseUrl,
      request.originalUrl,
      query,
      (w) => this.tags.list(user.id, w),
      (row) => presentTag(row.tag, row.imageCount),
    );
  }

  @Post()
  @ApiOperation({
    summary: 'Create a tag',
    description:
      'Creates a tag of yours. Names are lower-cased and unique per user (a duplicate is 400 naming `name`).',
  })
  @ApiCreatedResponse({ type: TagResponse, description: 'The new tag, carried by no image yet.' })
  @ApiProblems(400, 401, 415)
  async create(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: CreateTagDto,
  ): Promise<TagResponse> {
    return presentTag(await this.tags.create(user.id, dto.name, dto.description), 0);
  }
}
