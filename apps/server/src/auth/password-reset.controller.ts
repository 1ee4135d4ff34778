import { Body, Controller, HttpCode, Ip, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../http/api-problems.decorator.js';
import { Public } from '../http/public.decorator.js';
import { MessageResponse } from './auth.presenter.js';
import { PasswordResetConfirmDto, PasswordResetRequestDto } from './dto/password-reset.dto.js';
import { PasswordResetService } from './password-reset.service.js';

export const RESET_REQUESTED_MESSAGE =
  'If an account uses this address, an email with a link to reset its password is on its way.';

@ApiTags('auth')
@Controller('api/auth/password-reset')
export class PasswordResetController {
  constructor(private readonly resets: PasswordResetService) {}

  @Public()
  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Mail a password reset link (valid 1 hour, single use); the same answer whether or not the address is known.',
  })
  @ApiOkResponse({ type: MessageResponse, example: { message: RESET_REQUESTED_MESSAGE } })
  @ApiProblems(400, 415, 429)
  async request(@Body() dto: PasswordResetRequestDto, @Ip() ip: string): Promise<MessageResponse> {
    await this.resets.request(dto.email, ip || 'unknown');
    return { message: RESET_REQUESTED_MESSAGE };
  }

  @Public()
  @Post('confirm')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Set a new password with the emailed token; every session of the account ends.',
  })
  @ApiOkResponse({
    type: MessageResponse,
    example: { message: 'Password reset. Sign in with the new password.' },
  })
  @ApiProblems(400, 415)
  async confirm(@Body() dto: PasswordResetConfirmDto): Promise<MessageResponse> {
    await this.resets.confirm(dto);
    return { message: 'Password reset. Sign in with the new password.' };
  }
}
