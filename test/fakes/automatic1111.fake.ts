import {
  type CommonStep,
  type FakeServer,
  playCommonStep,
  type RecordedRequest,
  sendJson,
  solidPng,
  startFakeServer,
} from './fake-server.js';

/**
 * Stable Diffusion WebUI started with `--api`: `POST /sdapi/v1/txt2img`, no key, answers
 * `{images: [base64 PNG], parameters, info: "<JSON string>"}`. Validation errors are FastAPI's
 * 422 `{detail: [{loc, msg, type}]}`; crashes (out of GPU memory) a 500 `{error, detail, body,
 * errors}`. It has no content policy, so there is no `refuse()`.
 */
export interface Automatic1111Fake extends FakeServer {
  fail(status: number, body?: unknown, headers?: Record<string, string>): void;
  delay(ms: number): void;
  /** Next answer's images[0] is base64 of bytes that are not an image. */
  notAnImage(): void;
  reset(): void;
}

type Step = CommonStep | { kind: 'notAnImage' };

export const FAKE_SEED = 1234567;
export const FAKE_MODEL = 'v1-5-pruned-emaonly';

export async function start(): Promise<Automatic1111Fake> {
  const script: Step[] = [];
  const server = await startFakeServer(async (request, res) => {
    if (request.method !== 'POST' || request.path !== '/sdapi/v1/txt2img') {
      return sendJson(res, 404, { detail: 'Not Found' });
    }
    const invalid = validate(request);
    if (invalid) return sendJson(res, 422, { detail: invalid });

    const step = script.shift();
    if (step && step.kind !== 'notAnImage' && (await playCommonStep(step, res))) return;
    const body = request.body as { width?: number; height?: number; prompt?: string };
    const bytes =
      step?.kind === 'notAnImage'
        ? Buffer.from('RuntimeError: NaN in latent')
        : await solidPng(body.width ?? 512, body.height ?? 512);
    sendJson(res, 200, {
      images: [bytes.toString('base64')],
      parameters: body,
      info: JSON.stringify({ prompt: body.prompt, seed: FAKE_SEED, sd_model_name: FAKE_MODEL }),
    });
  });

  const push = (step: Step) => script.push(step);
  return {
    ...server,
    fail: (
      status,
      body = { error: 'OutOfMemoryError', detail: '', body: '', errors: 'CUDA out of memory.' },
      headers,
    ) => push({ kind: 'fail', status, body, headers }),
    delay: (ms) => push({ kind: 'delay', ms }),
    notAnImage: () => push({ kind: 'notAnImage' }),
    reset: () => {
      server.requests.length = 0;
      script.length = 0;
    },
  };
}

type Problem = { loc: (string | number)[]; msg: string; type: string }[];

/**
 * The WebUI's pydantic model, plus one check of ours: sizes must be multiples of 8, since the
 * WebUI would silently shrink other ones and the provider promises to round them.
 */
function validate(request: RecordedRequest): Problem | undefined {
  const body = request.body as Record<string, unknown> | null;
  if (!body || typeof body !== 'object') {
    return [{ loc: ['body'], msg: 'value is not a valid dict', type: 'type_error.dict' }];
  }
  const problems: Problem = [];
  for (const field of ['prompt', 'negative_prompt']) {
    if (body[field] !== undefined && typeof body[field] !== 'string') {
      problems.push({ loc: ['body', field], msg: 'str type expected', type: 'type_error.str' });
    }
  }
  for (const field of ['width', 'height', 'steps']) {
    if (body[field] !== undefined && !Number.isInteger(body[field])) {
      problems.push({
        loc: ['body', field],
        msg: 'value is not a valid integer',
        type: 'type_error.integer',
      });
    }
  }
  for (const field of ['width', 'height']) {
    const value = body[field] as number;
    if (Number.isInteger(value) && (value % 8 !== 0 || value < 64 || value > 2048)) {
      problems.push({
        loc: ['body', field],
        msg: 'must be a multiple of 8 between 64 and 2048',
        type: 'value_error',
      });
    }
  }
  if (body.cfg_scale !== undefined && typeof body.cfg_scale !== 'number') {
    problems.push({
      loc: ['body', 'cfg_scale'],
      msg: 'value is not a valid float',
      type: 'type_error.float',
    });
  }
  return problems.length > 0 ? problems : undefined;
}
