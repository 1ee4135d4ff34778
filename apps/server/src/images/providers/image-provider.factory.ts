import type { AppConfig, ImageProviderName } from '@app/common';
import { Automatic1111Provider } from './automatic1111.provider.js';
import { BlackboxProvider } from './blackbox.provider.js';
import type { ImageProvider } from './image-provider.js';
import { LocalProvider } from './local.provider.js';
import { OpenAiProvider } from './openai.provider.js';

type Images = AppConfig['images'];

/**
 * How to build each of IMAGE_PROVIDERS: a provider added to that list without an entry here does
 * not compile. Only the configured one is built (the others' keys may be missing).
 */
const BUILDERS: {
  readonly [P in ImageProviderName]: (images: Images) => ImageProvider & { name: P };
} = {
  blackbox: (images) =>
    new BlackboxProvider({
      ...images.blackbox,
      apiKey: requireKey(images.blackbox.apiKey, 'BLACKBOX_API_KEY'),
    }),
  openai: (images) =>
    new OpenAiProvider({
      ...images.openai,
      apiKey: requireKey(images.openai.apiKey, 'OPENAI_API_KEY'),
    }),
  automatic1111: (images) => new Automatic1111Provider(images.automatic1111),
  local: (images) => new LocalProvider(images.maxPixels),
};

/** The provider IMAGE_PROVIDER names; loadConfig() has already checked that its key is set. */
export function createImageProvider(config: AppConfig): ImageProvider {
  return BUILDERS[config.images.provider](config.images);
}

/** A config built by hand (tests) may skip loadConfig's check: fail at boot, not per image. */
function requireKey(key: string | undefined, variable: string): string {
  if (!key) throw new Error(`${variable} is required for the configured image provider`);
  return key;
}
