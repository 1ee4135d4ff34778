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
  Query,
  Req,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { APP_CONFIG, type AppConfig } from '@app/common';
import type { SocialAccount } from '@app/database';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { UserWithProfile } from '../auth/user-accounts.js';
import { ApiProblems } from '../http/api-problems.decorator.js';
import { Idempotent } from '../http/idempotent.decorator.js';
import { IdPipe } from '../http/id.pipe.js';
import { ApiPage, type Page, paginate, PageQuery } from '../http/pagination.js';
import { AccountsService } from './accounts.service.js';
import { AccountResponse, CreateAccountDto, UpdateAccountDto } from './dto/account.dto.js';

@ApiTags('scheduler')
@ApiBearerAuth()
@Controller('api/scheduler/accounts')
export class AccountsController {
  constructor(
    private readonly accounts: AccountsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Your connected social accounts (tokens are never returned).' })
  @ApiPage(AccountResponse)
  @ApiProblems(400, 401, 404)
  async list(
    @CurrentUser() user: UserWithProfile,
    @Query() query: PageQuery,
    @Req() request: Request,
  ): Promise<Page<AccountResponse>> {
    return paginate(
      this.config.publicBaseUrl,
      request.originalUrl,
      query,
      (w) => this.accounts.list(user.id, w),
      presentAccount,
    );
  }

  @Post()
  @Idempotent()
  @ApiOperation({ summary: 'Connect an account: its tokens are stored encrypted.' })
  @ApiCreatedResponse({ type: AccountResponse })
  @ApiProblems(400, 401, 415)
  async create(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: CreateAccountDto,
  ): Promise<AccountResponse> {
    return presentAccount(await this.accounts.create(user.id, dto));
  }

  @Get(':id')
  @ApiOkResponse({ type: AccountResponse })
  @ApiProblems(401, 404)
  async detail(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<AccountResponse> {
    return presentAccount(await this.accounts.get(user.id, id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Rename, reconnect (new tokens make it active again), disable or re-enable.',
  })
  @ApiOkResponse({ type: AccountResponse })
  @ApiProblems(400, 401, 404, 415)
  async update(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: UpdateAccountDto,
  ): Promise<AccountResponse> {
    return presentAccount(await this.accounts.update(user.id, id, dto));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Disconnect: its tokens are deleted.' })
  @ApiNoContentResponse()
  @ApiProblems(401, 404)
  async remove(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<void> {
    await this.accounts.delete(user.id, id);
  }
}

export function presentAccount(account: SocialAccount): AccountResponse {
  return {
    id: account.id,
    platform: account.platform,
    account_id: account.accountId,
    display_name: account.displayName,
    expires_at: account.expiresAt?.toISOString() ?? null,
    status: account.status,
    has_refresh_token: account.hasRefreshToken,
    created_at: account.createdAt.toISOString(),
    updated_at: account.updatedAt.toISOString(),
  };
}
