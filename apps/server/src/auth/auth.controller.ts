import {
  Body,
  Controller,
  Delete,
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
  ApiNoContentResponse,
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
import { AccountDeletionService } from './account-deletion.service.js';
import { AuthService, type UserWithProfile } from './auth.service.js';
import { CurrentUser } from './current-user.decorator.js';
import { ChangePasswordDto } from './dto/change-password.dto.js';
import { DeleteAccountDto } from './dto/delete-account.dto.js';
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
    private readonly deletion: AccountDeletionService,
  ) {}

  @Public()
  @Post('register')
  @ApiOperation({
    summary: 'Register',
    description:
      'Creates an account and its profile, then signs it in: the answer carries the user and a first token pair. The username is unique without regard to case, the email is unique, and the password follows the four rules (at least 8 characters, not too like the username or email, not a common password, not all digits). Limited per client address (`RATE_LIMIT_REGISTER_PER_HOUR`).',
  })
  @ApiCreatedResponse({
    type: RegisterResponse,
    description: 'The new user and its first token pair.',
  })
  @ApiProblems(400, 415, 429)
  async register(@Body() dto: RegisterDto, @Req() request: Request): Promise<RegisterResponse> {
    const { user, tokens } = await this.auth.register(dto, request.ip ?? 'unknown');
    return { user: this.presentUser(user), tokens, message: 'User registered successfully.' };
  }

  @Public()
  @Post('login')
  @ApiOperation({
    summary: 'Sign in',
    description:
      'Exchanges a username (or an email address) and a password for a token pair. Failures are throttled per account and per client address: past the limit the answer is 429 with `Retry-After`, even for the right password.',
  })
  @HttpCode(200)
  @ApiOkResponse({
    type: TokenPairResponse,
    description: 'A new session: a short-lived access token and a refresh token.',
  })
  @ApiProblems(400, 401, 429)
  login(@Body() dto: LoginDto, @Req() request: Request): Promise<TokenPairResponse> {
    return this.auth.login(dto, request.ip ?? 'unknown');
  }

  @Public()
  @Post('token/refresh')
  @ApiOperation({
    summary: 'Refresh the tokens',
    description:
      'Exchanges a refresh token for a new pair; the old refresh token is spent. Presenting a spent refresh token again revokes its whole session (every token of that family).',
  })
  @HttpCode(200)
  @ApiOkResponse({
    type: RefreshResponse,
    description: 'The new token pair; the refresh token given is now spent.',
  })
  @ApiProblems(400, 401)
  refresh(@Body() dto: RefreshDto): Promise<RefreshResponse> {
    return this.auth.refresh(dto.refresh);
  }

  @Post('logout')
  @ApiOperation({
    summary: 'Sign out',
    description:
      'Ends the session of the given refresh token (`refresh_token`, or `refresh`): that refresh token and the access tokens issued with it stop working at once.',
  })
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiOkResponse({ type: MessageResponse, description: 'The session is ended.' })
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
  @ApiOperation({
    summary: 'Current user',
    description: 'The signed-in user with their profile, as identified by the bearer access token.',
  })
  @ApiBearerAuth()
  @ApiOkResponse({ type: UserResponse, description: 'The user and their profile.' })
  @ApiProblems(401)
  me(@CurrentUser() user: UserWithProfile): UserResponse {
    return this.presentUser(user);
  }

  @Get('profile')
  @ApiOperation({
    summary: 'Read the profile',
    description:
      'The signed-in user’s profile, flat: identity fields, social handles, image defaults and time zone. `avatar` is a signed URL that expires.',
  })
  @ApiBearerAuth()
  @ApiOkResponse({ type: ProfileResponse, description: 'The profile.' })
  @ApiProblems(401)
  profile(@CurrentUser() user: UserWithProfile): ProfileResponse {
    return presentProfile(user, (key) => this.signer.signOrNull(key));
  }

  @Put('profile')
  @ApiOperation({
    summary: 'Replace the profile',
    description:
      'Replaces every writable profile field (email required). Send JSON, or `multipart/form-data` with the image file as `avatar`; avatar uploads are limited per hour (`RATE_LIMIT_AVATAR_PER_HOUR`) and decoded within `IMAGE_MAX_PIXELS`.',
  })
  @AcceptsMultipart()
  @UseInterceptors(FileInterceptor('avatar'))
  @ApiBearerAuth()
  @ApiConsumes('application/json', 'multipart/form-data')
  @ApiOkResponse({ type: ProfileResponse, description: 'The profile after the change.' })
  @ApiProblems(400, 401, 413, 415, 429)
  put(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: PutProfileDto,
    @UploadedFile() avatar?: Express.Multer.File,
  ): Promise<ProfileResponse> {
    return this.updateProfile(user, dto, avatar);
  }

  @Patch('profile')
  @ApiOperation({
    summary: 'Change the profile',
    description:
      'Changes only the fields sent. Send JSON, or `multipart/form-data` with the image file as `avatar`; avatar uploads are limited per hour (`RATE_LIMIT_AVATAR_PER_HOUR`) and decoded within `IMAGE_MAX_PIXELS`.',
  })
  @AcceptsMultipart()
  @UseInterceptors(FileInterceptor('avatar'))
  @ApiBearerAuth()
  @ApiConsumes('application/json', 'multipart/form-data')
  @ApiOkResponse({ type: ProfileResponse, description: 'The profile after the change.' })
  @ApiProblems(400, 401, 413, 415, 429)
  patch(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: PatchProfileDto,
    @UploadedFile() avatar?: Express.Multer.File,
  ): Promise<ProfileResponse> {
    return this.updateProfile(user, dto, avatar);
  }

  @Post('change-password')
  @ApiOperation({
    summary: 'Change the password',
    description:
      'Sets a new password after checking the old one. Every refresh token and every access token issued before the change stops working: sign in again.',
  })
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiOkResponse({ type: MessageResponse, description: 'The password is changed.' })
  @ApiProblems(400, 401)
  async changePassword(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: ChangePasswordDto,
  ): Promise<MessageResponse> {
    await this.auth.changePassword(user.id, dto);
    return { message: 'Password changed successfully. Sign in again with the new password.' };
  }

  @Delete('me')
  @ApiOperation({
    summary: 'Delete your account',
    description:
      'Deletes the account for good, after checking its password: scheduled posts are cancelled (none is published afterwards), recurring schedules stopped, every token revoked (this access token stops working at once), and every row and media file of the account removed (images and their renditions, avatar, exports, posts, schedules, accounts, webhooks and their deliveries, events). No event is sent: the webhooks go with the account. A wrong password is 400 naming `password` and changes nothing; wrong passwords count as failed sign-ins (429 past the limit). Download an export first (`POST exports/`) to keep a copy of your data.',
  })
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiNoContentResponse({ description: 'The account and all its data are deleted.' })
  @ApiProblems(400, 401, 415, 429)
  async deleteAccount(
    @CurrentUser() user: UserWithProfile,
    @Body() dto: DeleteAccountDto,
    @Req() request: Request,
  ): Promise<void> {
    await this.deletion.delete(user.id, user.username, dto.password, request.ip ?? 'unknown');
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
