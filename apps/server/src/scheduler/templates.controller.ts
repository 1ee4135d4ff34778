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
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { UserWithProfile } from '../auth/user-accounts.js';
import { ApiProblems } from '../http/api-problems.decorator.js';
import { IdPipe } from '../http/id.pipe.js';
import { ApiPage, type Page, paginate, PageQuery } from '../http/pagination.js';
import { RequestUrl } from '../http/request-url.decorator.js';
import {
  CreateTemplateDto,
  PatchTemplateDto,
  PreviewTemplateDto,
  TemplatePreviewResponse,
  TemplateResponse,
} from './dto/template.dto.js';
import { presentTemplate } from './templates.presenter.js';
import { TemplatesService } from './templates.service.js';

const VARIABLES =
  'Variables: `{prompt}`, `{style}`, `{tags}` (the image’s; tags as `#name` each), `{date}` (YYYY-MM-DD), `{weekday}` (English name), `{time}` (HH:MM) — the post’s time in your profile’s time zone — `{platform}` (Instagram, Facebook, X, LinkedIn, TikTok) and `{account}` (the account’s display name). `{{` and `}}` are literal braces.';

@ApiTags('scheduler')
@ApiBearerAuth()
@Controller('api/scheduler/templates')
export class TemplatesController {
  constructor(
    private readonly templates: TemplatesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List your post templates',
    description: 'Your post templates, newest first; paginated.',
  })
  @ApiPage(TemplateResponse)
  @ApiProblems(400, 401, 404)
  list(
    @CurrentUser() user: UserWithProfile,
    @Query() query: PageQuery,
    @RequestUrl() url: string,
  ): Promise<Page<TemplateResponse>> {
    return paginate(
      this.config.publicBaseUrl,
      url,
      query,
      (window) => this.templates.list(user.id, window),
      presentTemplate,
    );
  }

  @Post()
  @ApiOperation({
    summary: 'Create a post template',
    description: `A caption and hashtags with variables, and per-platform variants, for one-off posts (\`template\` instead of \`caption\` in \`schedule/\`) and recurring schedules. ${VARIABLES} An unknown variable or an unclosed brace is a 400 naming the field (\`caption\`, \`variants.twitter.hashtags\`, …).`,
  })
  @ApiCreatedResponse({ type: TemplateResponse, description: 'The new template.' })
  @ApiProblems(400, 401, 415)
  async create(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: CreateTemplateDto,
  ): Promise<TemplateResponse> {
    return presentTemplate(await this.templates.create(user.id, dto));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a post template', description: 'One of your templates.' })
  @ApiOkResponse({ type: TemplateResponse, description: 'The template.' })
  @ApiProblems(401, 404)
  async detail(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<TemplateResponse> {
    return presentTemplate(await this.templates.get(user.id, id));
  }

  @Put(':id')
  @ApiOperation({
    summary: 'Replace a post template',
    description:
      'Full update: the creation rules apply (left-out `hashtags` and `variants` become empty). Posts already scheduled keep the text they were rendered with; recurring schedules render the new text at their next runs.',
  })
  @ApiOkResponse({ type: TemplateResponse, description: 'The template after the change.' })
  @ApiProblems(400, 401, 404, 415)
  async replace(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: CreateTemplateDto,
  ): Promise<TemplateResponse> {
    return presentTemplate(await this.templates.update(user.id, id, dto, true));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change a post template',
    description:
      'Changes only the fields sent (`variants`, when sent, replaces all the variants). Posts already scheduled keep their text.',
  })
  @ApiOkResponse({ type: TemplateResponse, description: 'The template after the change.' })
  @ApiProblems(400, 401, 404, 415)
  async update(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: PatchTemplateDto,
  ): Promise<TemplateResponse> {
    return presentTemplate(await this.templates.update(user.id, id, dto, false));
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Delete a post template',
    description:
      'Posts rendered from it keep their text. A template that a recurring schedule renders cannot be deleted: 409 naming those schedules (give them another template or a caption first).',
  })
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The template is deleted.' })
  @ApiProblems(401, 404, 409)
  async remove(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<void> {
    await this.templates.delete(user.id, id);
  }

  @Post(':id/preview')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Preview a post template',
    description: `The template rendered as it would be published: for \`platform\` (its variant) or every platform, at \`at\` (default now) in your profile’s time zone, with the image’s prompt, style and tags when \`image\` names one of yours. \`{account}\` is your account on the platform when you have exactly one active there; a variable with no value stays as written. Each platform’s \`length\` counts the whole published text (caption, a blank line, hashtags) as the platform does, against its \`limit\`. ${VARIABLES}`,
  })
  @ApiOkResponse({ type: TemplatePreviewResponse, description: 'The rendered text per platform.' })
  @ApiProblems(400, 401, 404, 415)
  preview(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: PreviewTemplateDto,
  ): Promise<TemplatePreviewResponse> {
    return this.templates.preview(user, id, dto);
  }
}
