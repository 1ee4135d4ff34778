import type { ImageProvider, ImageRequest, ImageResult } from './image-provider.js';
import { postProviderJson } from './provider-http.js';

export interface Automatic1111Options {
  url: string;
}

interface Txt2ImgAnswer {
  images?: unknown[];
  info?: unknown;
}

/** Sampling steps: hd buys detail with twice the GPU time. */
const STEPS = { standard: 20, hd: 40 } as const;
/** The WebUI's own default: follows the prompt closely without burning colours. */
const CFG_SCALE = 7;

/** Stable Diffusion WebUI's API (`--api`): no key, a negative prompt of its own, base64 PNGs. */
export class Automatic1111Provider implements ImageProvider {
  readonly name = 'automatic1111' as const;

  get origin(): string {
    return new URL(this.options.url).origin;
  }

  constructor(private readonly options: Automatic1111Options) {}

  async generate(request: ImageRequest, signal: AbortSignal): Promise<ImageResult> {
    const body = {
      prompt: request.prompt,
      negative_prompt: request.negativePrompt,
      // The latent space is 1/8 of the picture: the WebUI floors other sizes, so round here.
      width: multipleOf8(request.width),
      height: multipleOf8(request.height),
      steps: STEPS[request.quality],
      cfg_scale: CFG_SCALE,
    };
    const answer = await postProviderJson({
      provider: 'automatic1111',
      url: `${this.options.url}/sdapi/v1/txt2img`,
      body,
      signal,
      expected: 'images[0]',
      read: (raw) => {
        const { images, info } = raw as Txt2ImgAnswer;
        const image = images?.[0];
        return typeof image === 'string' && image ? { image, ...generationInfo(info) } : undefined;
      },
    });
    // Some extensions answer a data URL instead of bare base64.
    const base64 = answer.image.replace(/^data:[^,]*;base64,/, '');
    return {
      kind: 'bytes',
      bytes: Buffer.from(base64, 'base64'),
      model: answer.model ?? 'stable-diffusion',
      parameters: { ...body, ...(answer.seed === undefined ? {} : { seed: answer.seed }) },
    };
  }
}

function multipleOf8(value: number): number {
  return Math.max(8, Math.round(value / 8) * 8);
}

/** `info` is a JSON string; its seed lets an image be drawn again. Optional: never fails. */
function generationInfo(info: unknown): { seed?: number; model?: string } {
  if (typeof info !== 'string') return {};
  try {
    const parsed = JSON.parse(info) as { seed?: unknown; sd_model_name?: unknown };
    return {
      seed: typeof parsed.seed === 'number' ? parsed.seed : undefined,
      model: typeof parsed.sd_model_name === 'string' ? parsed.sd_model_name : undefined,
    };
  } catch {
    return {};
  }
}
