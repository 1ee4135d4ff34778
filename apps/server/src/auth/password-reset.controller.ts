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
    summary: 'Ask for a password reset',
    description:
      'Mails the account using this address a link to choose a new password (`PASSWORD_RESET_URL`), carrying a single-use token valid one hour. The answer is the same 200 whether or not an account uses the address, and the account is looked up after the answer. Limited per client address (`RATE_LIMIT_REGISTER_PER_HOUR`, 429 with `Retry-After`); one account receives at most 3 reset mails an hour.',
  })
  @ApiOkResponse({
    type: MessageResponse,
    example: { message: RESET_REQUESTED_MESSAGE },
    description: 'Always the same answer: an email is on its way if the address is known.',
  })
  @ApiProblems(400, 415, 429)
  async request(@Body() dto: PasswordResetRequestDto, @Ip() ip: string): Promise<MessageResponse> {
    await this.resets.request(dto.email, ip || 'unknown');
    return { message: RESET_REQUESTED_MESSAGE };
  }

  @Public()
  @Post('confirm')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Reset the password',
    description:
      'Sets a new password with the token of a reset email (the password rules of registration apply). The token is then spent, with every other reset token of the account, and every session of the account ends: its refresh and access tokens stop working. A spent, expired or unknown token is a 400 naming `token`.',
  })
  @ApiOkResponse({
    type: MessageResponse,
    example: { message: 'Password reset. Sign in with the new password.' },
    description: 'The password is changed; sign in again.',
  })
  @ApiProblems(400, 415)
  async confirm(@Body() dto: PasswordResetConfirmDto): Promise<MessageResponse> {
    await this.resets.confirm(dto);
    return { message: 'Password reset. Sign in with the new password.' };
  }
}
