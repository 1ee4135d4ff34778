import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { ImageEditingService } from './editing/image-editing.service.js';
import { GenerateImageProcessor } from './generate-image.processor.js';
import { ImageEditingController } from './image-editing.controller.js';
import { ImageEvents } from './image-events.js';
import { ImageGenerationService } from './image-generation.service.js';
import { ImageGenerationSweep } from './image-generation.sweep.js';
import { ImageTagsController } from './image-tags.controller.js';
import { ImageTagsService } from './image-tags.service.js';
import { ImagesController } from './images.controller.js';
import { ImagesService } from './images.service.js';
import { ImageListCache } from './image-list.cache.js';
import { createImageProvider } from './providers/image-provider.factory.js';
import { IMAGE_PROVIDER } from './providers/image-provider.js';

@Module({
  // Tags and editing first: their static paths (`tags/`, `presets/`) must be matched before the
  // images' `:id`.
  controllers: [ImageTagsController, ImageEditingController, ImagesController],
  providers: [
    ImageEvents,
    ImagesService,
    ImageListCache,
    ImageEditingService,
    ImageTagsService,
    ImageGenerationService,
    GenerateImageProcessor,
    ImageGenerationSweep,
    {
      provide: IMAGE_PROVIDER,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => createImageProvider(config),
    },
  ],
  exports: [ImagesService, ImageGenerationService],
})
export class ImagesModule {}
