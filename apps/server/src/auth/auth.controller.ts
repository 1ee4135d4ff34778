import {
  Body,
  Controller,
  Get,
  HttpCode,
  Patch,
  Post,
  Put,
  Req,
  UploadedFile,
  UseInterceptors,
} from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import {
  ApiBearerAuth,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { MediaUrlSigner } from '../media/media-url.signer.js';
import { AcceptsMultipart } from '../http/accepts-multipart.decorator.js';
import { ApiProblems } from '../http/api-problems.decorator.js';
import { Public } from '../http/public.decorator.js';
import {
  MessageResponse,
  presentProfile,
  presentUser,
  ProfileResponse,
  RefreshResponse,
  RegisterResponse,
  TokenPairResponse,
  UserResponse,
} from './auth.presenter.js';
import { AuthService, type UserWithProfile } from './auth.service.js';
import { CurrentUser } from './current-user.decorator.js';
import { ChangePasswordDto } from './dto/change-password.dto.js';
import { LoginDto } from './dto/login.dto.js';
import { PatchProfileDto, PutProfileDto } from './dto/profile.dto.js';
import { LogoutDto, RefreshDto } from './dto/refresh.dto.js';
import { RegisterDto } from './dto/register.dto.js';
import { ProfileService } from './profile.service.js';

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly profiles: ProfileService,
    private readonly signer: MediaUrlSigner,
  ) {}

  @Public()
  @Post('register')
  @ApiOperation({ summary: 'Create an account (and its profile) and sign in.' })
  @ApiCreatedResponse({ type: RegisterResponse })
  @ApiProblems(400, 415, 429)
  async register(@Body() dto: RegisterDto, @Req() request: Request): Promise<RegisterResponse> {
    const { user, tokens } = await this.auth.register(dto, request.ip ?? 'unknown');
    return { user: this.presentUser(user), tokens, message: 'User registered successfully.' };
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign in with a username or an email address.' })
  @ApiOkResponse({ type: TokenPairResponse })
  @ApiProblems(400, 401, 429)
  login(@Body() dto: LoginDto, @Req() request: Request): Promise<TokenPairResponse> {
    return this.auth.login(dto, request.ip ?? 'unknown');
  }

  @Public()
  @Post('token/refresh')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Exchange a refresh token for a new pair; reusing a spent one revokes its session.',
  })
  @ApiOkResponse({ type: RefreshResponse })
  @ApiProblems(400, 401)
  refresh(@Body() dto: RefreshDto): Promise<RefreshResponse> {
    return this.auth.refresh(dto.refresh);
  }

  @Post('logout')
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'End the session of this refresh token (its access tokens stop working too).',
  })
  @ApiOkResponse({ type: MessageResponse })
  @ApiProblems(400, 401)
  async logout(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: LogoutDto,
  ): Promise<MessageResponse> {
    const field = dto.refresh_token !== undefined ? 'refresh_token' : 'refresh';
    await this.auth.logout(user.id, (dto.refresh_token ?? dto.refresh)!, field);
    return { message: 'Successfully logged out.' };
  }

  @Get('me')
  @ApiBearerAuth()
  @ApiOkResponse({ type: UserResponse })
  @ApiProblems(401)
  me(@CurrentUser() user: UserWithProfile): UserResponse {
    return this.presentUser(user);
  }

  @Get('profile')
  @ApiBearerAuth()
  @ApiOkResponse({ type: ProfileResponse })
  @ApiProblems(401)
  profile(@CurrentUser() user: UserWithProfile): ProfileResponse {
    return presentProfile(user, (key) => this.signer.signOrNull(key));
  }

  @Put('profile')
  @AcceptsMultipart()
  @UseInterceptors(FileInterceptor('avatar'))
  @ApiBearerAuth()
  @ApiConsumes('application/json', 'multipart/form-data')
  @ApiOperation({
    summary: 'Replace the profile (email required); an avatar is uploaded as multipart `avatar`.',
  })
  @ApiOkResponse({ type: ProfileResponse })
  @ApiProblems(400, 401, 413, 415)
  put(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: PutProfileDto,
    @UploadedFile() avatar?: Express.Multer.File,
  ): Promise<ProfileResponse> {
    return this.updateProfile(user, dto, avatar);
  }

  @Patch('profile')
  @AcceptsMultipart()
  @UseInterceptors(FileInterceptor('avatar'))
  @ApiBearerAuth()
  @ApiConsumes('application/json', 'multipart/form-data')
  @ApiOperation({
    summary: 'Change some profile fields; an avatar is uploaded as multipart `avatar`.',
  })
  @ApiOkResponse({ type: ProfileResponse })
  @ApiProblems(400, 401, 413, 415)
  patch(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: PatchProfileDto,
    @UploadedFile() avatar?: Express.Multer.File,
  ): Promise<ProfileResponse> {
    return this.updateProfile(user, dto, avatar);
  }

  @Post('change-password')
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Change the password; every token issued before stops working.' })
  @ApiOkResponse({ type: MessageResponse })
  @ApiProblems(400, 401)
  async changePassword(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: ChangePasswordDto,
  ): Promise<MessageResponse> {
    await this.auth.changePassword(user.id, dto);
    return { message: 'Password changed successfully. Sign in again with the new password.' };
  }

  private async updateProfile(
    user: UserWithProfile,
    dto: PatchProfileDto,
    avatar?: Express.Multer.File,
  ) {
    const updated = await this.profiles.update(user, dto, avatar);
    return presentProfile(updated, (key) => this.signer.signOrNull(key));
  }

  private presentUser(user: UserWithProfile): UserResponse {
    return presentUser(user, (key) => this.signer.signOrNull(key));
  }
}
