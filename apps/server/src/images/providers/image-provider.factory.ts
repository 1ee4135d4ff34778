import type { AppConfig } from '@app/common';
import { Automatic1111Provider } from './automatic1111.provider.js';
import { BlackboxProvider } from './blackbox.provider.js';
import type { ImageProvider } from './image-provider.js';
import { LocalProvider } from './local.provider.js';
import { OpenAiProvider } from './openai.provider.js';

/** The provider IMAGE_PROVIDER names; loadConfig() has already checked that its key is set. */
export function createImageProvider(config: AppConfig): ImageProvider {
  const images = config.images;
  switch (images.provider) {
    case 'blackbox':
      return new BlackboxProvider({
        ...images.blackbox,
        apiKey: requireKey(images.blackbox.apiKey, 'BLACKBOX_API_KEY'),
      });
    case 'openai':
      return new OpenAiProvider({
        ...images.openai,
        apiKey: requireKey(images.openai.apiKey, 'OPENAI_API_KEY'),
      });
    case 'automatic1111':
      return new Automatic1111Provider(images.automatic1111);
    case 'local':
      return new LocalProvider();
  }
}

/** A config built by hand (tests) may skip loadConfig's check: fail at boot, not per image. */
function requireKey(key: string | undefined, variable: string): string {
  if (!key) throw new Error(`${variable} is required for the configured image provider`);
  return key;
}
