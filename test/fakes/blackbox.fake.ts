import {
  type CommonStep,
  FAKE_IMAGE_PATH,
  type FakeServer,
  HUGE_PATH,
  NOT_AN_IMAGE_PATH,
  playCommonStep,
  type RecordedRequest,
  sendJson,
  startFakeServer,
} from './fake-server.js';

/**
 * Blackbox's OpenAI-style chat endpoint as its image models use it:
 * `POST /chat/completions` with `Authorization: Bearer <key>` and `{model, messages}`; the reply
 * message's content is the picture's URL. Errors come as `{error: {message, type, param, code}}`.
 */
export interface BlackboxFake extends FakeServer {
  apiKey: string;
  /** Next answer fails with this status, body and headers. */
  fail(status: number, body?: unknown, headers?: Record<string, string>): void;
  /** Next answer comes after `ms` (longer than the client waits: too slow). */
  delay(ms: number): void;
  /** Next reply message's content is exactly this text. */
  answer(content: string): void;
  /** Next reply's URL serves bytes that are not an image. */
  notAnImage(): void;
  /** Next reply's URL serves a body far larger than any sane limit. */
  hugeImage(): void;
  /** Next reply is the model's refusal, in words and without a URL, as chat models do. */
  refuse(): void;
  /** Forgets recorded requests and pending steps, between tests. */
  reset(): void;
}

type Step = CommonStep | { kind: 'answer'; content: string };

export const BLACKBOX_FAKE_KEY = 'bb-test-key-0123456789';
export const REFUSAL =
  "I'm sorry, but I can't help create that image. It may violate our content policy.";

export async function start(apiKey = BLACKBOX_FAKE_KEY): Promise<BlackboxFake> {
  const script: Step[] = [];
  const server = await startFakeServer(async (request, res) => {
    if (request.method !== 'POST' || request.path !== '/chat/completions') {
      return sendJson(res, 404, error('Not Found', 'not_found_error', '404'));
    }
    if (request.headers.authorization !== `Bearer ${apiKey}`) {
      return sendJson(
        res,
        401,
        error('Authentication Error, invalid API key.', 'auth_error', '401'),
      );
    }
    const invalid = validate(request);
    if (invalid) return sendJson(res, 400, error(invalid, 'invalid_request_error', '400'));

    let content = `${server.url}${FAKE_IMAGE_PATH}`;
    const step = script.shift();
    if (step?.kind === 'answer') content = step.content;
    else if (step && (await playCommonStep(step, res))) return;

    sendJson(res, 200, {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: (request.body as { model: string }).model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    });
  });

  const push = (step: Step) => script.push(step);
  return {
    ...server,
    apiKey,
    fail: (status, body = error(`fake failure ${status}`, 'api_error', String(status)), headers) =>
      push({ kind: 'fail', status, body, headers }),
    delay: (ms) => push({ kind: 'delay', ms }),
    answer: (content) => push({ kind: 'answer', content }),
    notAnImage: () => push({ kind: 'answer', content: `${server.url}${NOT_AN_IMAGE_PATH}` }),
    hugeImage: () => push({ kind: 'answer', content: `${server.url}${HUGE_PATH}` }),
    refuse: () => push({ kind: 'answer', content: REFUSAL }),
    reset: () => {
      server.requests.length = 0;
      script.length = 0;
    },
  };
}

function error(message: string, type: string, code: string) {
  return { error: { message, type, param: null, code } };
}

function validate(request: RecordedRequest): string | undefined {
  const body = request.body as { model?: unknown; messages?: unknown } | null;
  if (!body || typeof body !== 'object') return 'Request body must be a JSON object.';
  if (typeof body.model !== 'string' || !body.model) return 'model is required.';
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return 'messages must be a non-empty list.';
  }
  for (const message of body.messages as { role?: unknown; content?: unknown }[]) {
    if (!['system', 'user', 'assistant'].includes(message?.role as string)) {
      return `Invalid role: ${String(message?.role)}.`;
    }
    if (typeof message.content !== 'string' || !message.content) {
      return 'Each message needs a non-empty string content.';
    }
  }
  return undefined;
}
