import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { LocalMediaStorage } from './local-media.storage.js';
import { MediaRequestHandler } from './media-request.handler.js';
import { MEDIA_STORAGE } from './media-storage.js';
import { MediaUrlSigner } from './media-url.signer.js';

@Global()
@Module({
  providers: [
    MediaUrlSigner,
    MediaRequestHandler,
    {
      provide: MEDIA_STORAGE,
      inject: [APP_CONFIG],
      // The AWS SDK (some 30 MB resident) is loaded only by a process that uses the store.
      useFactory: async (config: AppConfig) =>
        config.media.storage === 's3'
          ? new (await import('./s3-media.storage.js')).S3MediaStorage(config.media.s3!)
          : new LocalMediaStorage(config.mediaRoot),
    },
  ],
  exports: [MediaUrlSigner, MEDIA_STORAGE],
})
export class MediaModule {}
