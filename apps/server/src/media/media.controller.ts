import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { AppError, NotFoundError } from '@app/common';
import { Public } from '../http/public.decorator.js';
import { isSafeMediaKey, MEDIA_STORAGE, type MediaStorage } from './media-storage.js';
import { MediaUrlSigner } from './media-url.signer.js';

@ApiExcludeController()
@Controller('media')
export class MediaController {
  constructor(
    private readonly signer: MediaUrlSigner,
    @Inject(MEDIA_STORAGE) private readonly storage: MediaStorage,
  ) {}

  @Public()
  @Get('*key')
  async serve(
    @Param('key') segments: string[] | string,
    @Query('expires') expires: string | undefined,
    @Query('signature') signature: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    const key = Array.isArray(segments) ? segments.join('/') : segments;
    if (!isSafeMediaKey(key) || !this.signer.isValid(key, expires, signature)) {
      throw new AppError(
        403,
        'invalid_signature',
        'This media URL is unsigned, altered or expired.',
      );
    }
    const file = await this.storage.locate(key);
    if (!file) throw new NotFoundError('media file');
    const maxAge = Math.max(0, Number(expires) - Math.floor(Date.now() / 1000));
    response.setHeader('Cache-Control', `private, max-age=${maxAge}`);
    response.setHeader('X-Content-Type-Options', 'nosniff');
    // The key is checked above (no segment starts with a dot); `send` would otherwise also refuse
    // a MEDIA_ROOT that lives under a hidden folder (~/.local/...) and answer 404 for every file.
    response.sendFile(file, { dotfiles: 'allow' });
  }
}
