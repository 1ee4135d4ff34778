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
  @ApiOperation({
    summary: 'List your accounts',
    description: 'Your connected social accounts. Tokens are write-only: they are never returned.',
  })
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
      present,
    );
  }

  @Post()
  @ApiOperation({
    summary: 'Connect an account',
    description:
      'Connects a social account with its platform id and tokens; the tokens are stored encrypted and never returned. Send an `Idempotency-Key` header to make a retry safe.',
  })
  @Idempotent()
  @ApiCreatedResponse({ type: AccountResponse, description: 'The connected account.' })
  @ApiProblems(400, 401, 415)
  async create(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: CreateAccountDto,
  ): Promise<AccountResponse> {
    return present(await this.accounts.create(user.id, dto));
  }

  @Get(':id')
  @ApiOperation({
    summary: 'Read an account',
    description: 'One of your connected accounts (without its tokens).',
  })
  @ApiOkResponse({ type: AccountResponse, description: 'The account.' })
  @ApiProblems(401, 404)
  async detail(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<AccountResponse> {
    return present(await this.accounts.get(user.id, id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change an account',
    description:
      'Renames it, reconnects it (new tokens make it active again), disables it (`status: disabled`) or re-enables it. Only its owner re-enables a disabled account.',
  })
  @ApiOkResponse({ type: AccountResponse, description: 'The account after the change.' })
  @ApiProblems(400, 401, 404, 415)
  async update(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
    @Body() dto: UpdateAccountDto,
  ): Promise<AccountResponse> {
    return present(await this.accounts.update(user.id, id, dto));
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Disconnect an account',
    description: 'Deletes the account and its tokens.',
  })
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The account is disconnected.' })
  @ApiProblems(401, 404)
  async remove(
    @CurrentUser() user: UserWithProfile,
    @Param('id', IdPipe) id: number,
  ): Promise<void> {
    await this.accounts.delete(user.id, id);
  }
}

function present(account: SocialAccount): AccountResponse {
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
