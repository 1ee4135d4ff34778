import {
  type CommonStep,
  FAKE_IMAGE_PATH,
  type FakeServer,
  HUGE_PATH,
  NOT_AN_IMAGE_PATH,
  OVER_PIXEL_LIMIT_PATH,
  playCommonStep,
  type RecordedRequest,
  sendJson,
  solidPng,
  startFakeServer,
} from './fake-server.js';
import { overPixelLimitPng } from '../support/images.js';

/**
 * OpenAI's `POST /images/generations`: `{prompt, model, size, quality, n}` with a Bearer key.
 * DALL·E models answer `data[0].url` (valid for an hour in reality), gpt-image models always
 * `data[0].b64_json`. Errors are `{error: {message, type, param, code}}`.
 */
export interface OpenAiFake extends FakeServer {
  apiKey: string;
  fail(status: number, body?: unknown, headers?: Record<string, string>): void;
  delay(ms: number): void;
  /** Next answer is not an image: a URL to other bytes, or base64 of text. */
  notAnImage(): void;
  /** Next answer's URL serves a body far larger than any sane limit (URL models only). */
  hugeImage(): void;
  /** Next answer (URL or base64) is a small PNG of 48 megapixels, over IMAGE_MAX_PIXELS. */
  overPixelLimit(): void;
  /** Next request is refused by the safety system, as each model family words it. */
  refuse(): void;
  reset(): void;
}

type Step =
  | CommonStep
  | { kind: 'notAnImage' }
  | { kind: 'huge' }
  | { kind: 'overPixelLimit' }
  | { kind: 'refuse' };

export const OPENAI_FAKE_KEY = 'sk-test-0123456789abcdef';

const MODELS: Record<string, { sizes: string[]; qualities: string[]; maxPrompt: number }> = {
  'dall-e-2': {
    sizes: ['256x256', '512x512', '1024x1024'],
    qualities: ['standard'],
    maxPrompt: 1000,
  },
  'dall-e-3': {
    sizes: ['1024x1024', '1792x1024', '1024x1792'],
    qualities: ['standard', 'hd'],
    maxPrompt: 4000,
  },
  'gpt-image-1': {
    sizes: ['auto', '1024x1024', '1536x1024', '1024x1536'],
    qualities: ['auto', 'low', 'medium', 'high'],
    maxPrompt: 32000,
  },
};
const KNOWN_FIELDS = [
  'prompt',
  'model',
  'size',
  'quality',
  'n',
  'style',
  'response_format',
  'user',
];

export async function start(apiKey = OPENAI_FAKE_KEY): Promise<OpenAiFake> {
  const script: Step[] = [];
  const server = await startFakeServer(async (request, res) => {
    if (request.method !== 'POST' || request.path !== '/images/generations') {
      return sendJson(
        res,
        404,
        error(`Invalid URL (${request.method} ${request.path})`, null, null),
      );
    }
    const key = request.headers.authorization?.replace(/^Bearer /, '');
    if (!request.headers.authorization?.startsWith('Bearer ') || key !== apiKey) {
      return sendJson(
        res,
        401,
        error(`Incorrect API key provided: ${key ?? ''}.`, 'invalid_api_key', null),
      );
    }
    const invalid = validate(request);
    if (invalid) return sendJson(res, 400, error(invalid.message, null, invalid.param));

    const body = request.body as { model: string; size?: string; prompt: string };
    const urlModel = body.model.startsWith('dall-e');
    const step = script.shift();
    if (step?.kind === 'refuse') {
      return sendJson(
        res,
        400,
        urlModel
          ? error(
              'Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.',
              'content_policy_violation',
              null,
            )
          : {
              error: {
                message: 'Your request was rejected by the safety system.',
                type: 'image_generation_user_error',
                param: null,
                code: 'moderation_blocked',
              },
            },
      );
    }
    if (step?.kind === 'fail' || step?.kind === 'delay') {
      if (await playCommonStep(step, res)) return;
    }

    let item: Record<string, string>;
    if (urlModel) {
      const path =
        step?.kind === 'notAnImage'
          ? NOT_AN_IMAGE_PATH
          : step?.kind === 'huge'
            ? HUGE_PATH
            : step?.kind === 'overPixelLimit'
              ? OVER_PIXEL_LIMIT_PATH
              : FAKE_IMAGE_PATH;
      item = { url: `${server.url}${path}` };
      if (body.model === 'dall-e-3') item.revised_prompt = `A detailed picture: ${body.prompt}`;
    } else {
      const [width, height] = (body.size ?? '1024x1024').split('x').map(Number);
      const bytes =
        step?.kind === 'notAnImage'
          ? Buffer.from('not an image at all')
          : step?.kind === 'overPixelLimit'
            ? await overPixelLimitPng()
            : await solidPng(width || 1024, height || 1024);
      item = { b64_json: bytes.toString('base64') };
    }
    sendJson(res, 200, { created: Math.floor(Date.now() / 1000), data: [item] });
  });

  const push = (step: Step) => script.push(step);
  return {
    ...server,
    apiKey,
    fail: (status, body = error(`fake failure ${status}`, null, null), headers) =>
      push({ kind: 'fail', status, body, headers }),
    delay: (ms) => push({ kind: 'delay', ms }),
    notAnImage: () => push({ kind: 'notAnImage' }),
    hugeImage: () => push({ kind: 'huge' }),
    overPixelLimit: () => push({ kind: 'overPixelLimit' }),
    refuse: () => push({ kind: 'refuse' }),
    reset: () => {
      server.requests.length = 0;
      script.length = 0;
    },
  };
}

function error(message: string, code: string | null, param: string | null) {
  return { error: { message, type: 'invalid_request_error', param, code } };
}

function validate(request: RecordedRequest): { message: string; param: string | null } | undefined {
  const body = request.body as Record<string, unknown> | null;
  if (!body || typeof body !== 'object') {
    return { message: 'We could not parse the JSON body of your request.', param: null };
  }
  const unknown = Object.keys(body).find((field) => !KNOWN_FIELDS.includes(field));
  if (unknown)
    return { message: `Unrecognized request argument supplied: ${unknown}`, param: null };
  const model = MODELS[body.model as string];
  if (!model) return { message: `Invalid model: ${String(body.model)}.`, param: 'model' };
  if (typeof body.prompt !== 'string' || !body.prompt) {
    return { message: "Missing required parameter: 'prompt'.", param: 'prompt' };
  }
  if (body.prompt.length > model.maxPrompt) {
    return {
      message: `Invalid 'prompt': string too long. Expected a string with maximum length ${model.maxPrompt}.`,
      param: 'prompt',
    };
  }
  if (body.size !== undefined && !model.sizes.includes(body.size as string)) {
    return {
      message: `Invalid value: '${String(body.size)}'. Supported values are: ${model.sizes.map((s) => `'${s}'`).join(', ')}.`,
      param: 'size',
    };
  }
  if (body.quality !== undefined && !model.qualities.includes(body.quality as string)) {
    return {
      message: `Invalid value: '${String(body.quality)}'. Supported values are: ${model.qualities.map((q) => `'${q}'`).join(', ')}.`,
      param: 'quality',
    };
  }
  const maxN = body.model === 'dall-e-3' ? 1 : 10;
  if (
    body.n !== undefined &&
    (!Number.isInteger(body.n) || (body.n as number) < 1 || (body.n as number) > maxN)
  ) {
    return { message: `Invalid 'n': must be between 1 and ${maxN}.`, param: 'n' };
  }
  return undefined;
}
