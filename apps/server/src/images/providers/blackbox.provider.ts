import {
  type ImageProvider,
  type ImageRequest,
  type ImageResult,
  ProviderError,
} from './image-provider.js';
import { postProviderJson, promptWithNegative } from './provider-http.js';

export interface BlackboxOptions {
  url: string;
  apiKey: string;
  model: string;
}

interface ChatAnswer {
  choices?: { message?: { content?: unknown } }[];
}

/**
 * Blackbox serves image models behind its OpenAI-style chat endpoint: the answer is a message
 * whose text holds the image's URL, bare or wrapped in prose or markdown.
 */
export class BlackboxProvider implements ImageProvider {
  readonly name = 'blackbox' as const;

  get origin(): string {
    return new URL(this.options.url).origin;
  }

  constructor(private readonly options: BlackboxOptions) {}

  async generate(request: ImageRequest, signal: AbortSignal): Promise<ImageResult> {
    const prompt = promptWithNegative(request);
    const content = await postProviderJson({
      provider: 'blackbox',
      url: `${this.options.url}/chat/completions`,
      headers: { Authorization: `Bearer ${this.options.apiKey}` },
      body: { model: this.options.model, messages: [{ role: 'user', content: prompt }] },
      signal,
      expected: 'choices[0].message.content',
      read: (answer) => {
        const text = (answer as ChatAnswer).choices?.[0]?.message?.content;
        return typeof text === 'string' ? text : undefined;
      },
    });
    const url = firstHttpUrl(content);
    if (!url) {
      // Usually a refusal or a chatty reply instead of a picture: its start says which.
      const start = content.replace(/\s+/g, ' ').trim().slice(0, 200);
      throw new ProviderError(`blackbox answered without an image URL: "${start}"`, false);
    }
    return { kind: 'url', url, model: this.options.model, parameters: { prompt } };
  }
}

/** The first http(s) URL in free text, without markdown's brackets or a sentence's full stop. */
export function firstHttpUrl(text: string): string | undefined {
  for (const match of text.matchAll(/https?:\/\/[^\s<>"'`()[\]]+/gi)) {
    const candidate = match[0].replace(/[.,;:!?*_]+$/, '');
    try {
      const url = new URL(candidate);
      if (url.hostname) return candidate;
    } catch {
      // Not a URL after all (e.g. "http://" alone): keep looking.
    }
  }
  return undefined;
}
