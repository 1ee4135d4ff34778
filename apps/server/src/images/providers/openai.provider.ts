import type { ImageProvider, ImageQuality, ImageRequest, ImageResult } from './image-provider.js';
import { postProviderJson, promptWithNegative } from './provider-http.js';

export interface OpenAiOptions {
  url: string;
  apiKey: string;
  model: string;
}

interface ImagesAnswer {
  data?: { url?: unknown; b64_json?: unknown; revised_prompt?: unknown }[];
}

type Answer = { url: string; revisedPrompt?: string } | { bytes: Buffer; revisedPrompt?: string };

/** Each model accepts a fixed list of sizes and rejects anything else with a 400. */
const SIZES: Record<'dall-e-2' | 'dall-e-3' | 'gpt-image', [number, number][]> = {
  'dall-e-2': [
    [256, 256],
    [512, 512],
    [1024, 1024],
  ],
  'dall-e-3': [
    [1024, 1024],
    [1792, 1024],
    [1024, 1792],
  ],
  'gpt-image': [
    [1024, 1024],
    [1536, 1024],
    [1024, 1536],
  ],
};

/** OpenAI Images API (`/images/generations`): DALL·E models answer a URL, gpt-image ones base64. */
export class OpenAiProvider implements ImageProvider {
  readonly name = 'openai' as const;

  get origin(): string {
    return new URL(this.options.url).origin;
  }

  constructor(private readonly options: OpenAiOptions) {}

  async generate(request: ImageRequest, signal: AbortSignal): Promise<ImageResult> {
    const { model } = this.options;
    const size = openAiSize(model, request.width, request.height);
    const quality = openAiQuality(model, request.quality);
    const prompt = promptWithNegative(request);
    const body = { prompt, model, size, ...(quality ? { quality } : {}), n: 1 };
    const answer = await postProviderJson<Answer>({
      provider: 'openai',
      url: `${this.options.url}/images/generations`,
      headers: { Authorization: `Bearer ${this.options.apiKey}` },
      body,
      signal,
      expected: 'data[0].url or data[0].b64_json',
      read: (raw) => {
        const first = (raw as ImagesAnswer).data?.[0];
        const revisedPrompt =
          typeof first?.revised_prompt === 'string' ? first.revised_prompt : undefined;
        if (typeof first?.url === 'string' && first.url) return { url: first.url, revisedPrompt };
        if (typeof first?.b64_json === 'string' && first.b64_json) {
          return { bytes: Buffer.from(first.b64_json, 'base64'), revisedPrompt };
        }
        return undefined;
      },
      refusal: (_status, raw) => {
        const error = (raw as { error?: { code?: unknown; type?: unknown } } | undefined)?.error;
        return (
          error?.code === 'content_policy_violation' ||
          error?.type === 'image_generation_user_error'
        );
      },
    });
    // DALL·E 3 rewrites prompts; what it actually drew from is worth keeping in metadata.
    const parameters = {
      prompt,
      size,
      ...(quality ? { quality } : {}),
      ...(answer.revisedPrompt ? { revised_prompt: answer.revisedPrompt } : {}),
    };
    return 'url' in answer
      ? { kind: 'url', url: answer.url, model, parameters }
      : { kind: 'bytes', bytes: answer.bytes, model, parameters };
  }
}

/**
 * The accepted size nearest to the request: first the closest aspect ratio (a crop to the
 * requested size then loses least), then the closest area (least upscaling or waste).
 */
export function openAiSize(model: string, width: number, height: number): string {
  const ratio = Math.log(width / height);
  const area = Math.log(width * height);
  let best = SIZES[modelFamily(model)][0];
  let bestScore = [Infinity, Infinity];
  for (const size of SIZES[modelFamily(model)]) {
    const score = [
      round(Math.abs(Math.log(size[0] / size[1]) - ratio)),
      round(Math.abs(Math.log(size[0] * size[1]) - area)),
    ];
    if (score[0] < bestScore[0] || (score[0] === bestScore[0] && score[1] < bestScore[1])) {
      best = size;
      bestScore = score;
    }
  }
  return `${best[0]}x${best[1]}`;
}

/** DALL·E 3 knows standard/hd, gpt-image low…high, DALL·E 2 takes no quality at all. */
export function openAiQuality(model: string, quality: ImageQuality): string | undefined {
  switch (modelFamily(model)) {
    case 'dall-e-2':
      return undefined;
    case 'dall-e-3':
      return quality;
    case 'gpt-image':
      return quality === 'hd' ? 'high' : 'medium';
  }
}

function modelFamily(model: string): keyof typeof SIZES {
  if (model.startsWith('dall-e-2')) return 'dall-e-2';
  if (model.startsWith('dall-e-3')) return 'dall-e-3';
  return 'gpt-image';
}

/** Ties in ratio (e.g. two squares) must compare equal despite floating-point noise. */
function round(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}
