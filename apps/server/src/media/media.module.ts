import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { LocalMediaStorage } from './local-media.storage.js';
import { MediaRequestHandler } from './media-request.handler.js';
import { MEDIA_STORAGE } from './media-storage.js';
import { MediaUrlSigner } from './media-url.signer.js';
import { S3MediaStorage } from './s3-media.storage.js';

@Global()
@Module({
  providers: [
    MediaUrlSigner,
    MediaRequestHandler,
    {
      provide: MEDIA_STORAGE,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        config.media.storage === 's3'
          ? new S3MediaStorage(config.media.s3!)
          : new LocalMediaStorage(config.mediaRoot),
    },
  ],
  exports: [MediaUrlSigner, MEDIA_STORAGE],
})
export class MediaModule {}
