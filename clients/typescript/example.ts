/**
 * A typed client generated from the server's OpenAPI document (`npm run client:generate`), and
 * the product's whole path with it: register, sign in, generate an image, validate it, connect
 * an Instagram account, schedule the image, and wait until it is published.
 * test/openapi.e2e-spec.ts compiles it with the project and runs it against a server.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type Image = components['schemas']['ImageResponse'];
export type Post = components['schemas']['PostResponse'];

/** A client whose requests carry the bearer token once one is set. */
export function createApiClient(baseUrl: string): {
  api: Client<paths>;
  signIn(access: string): void;
} {
  const api = createClient<paths>({ baseUrl });
  let token: string | undefined;
  api.use({
    onRequest({ request }) {
      if (token) request.headers.set('Authorization', `Bearer ${token}`);
      return request;
    },
  });
  return { api, signIn: (access) => (token = access) };
}

/** The error of a failed call as the server wrote it (a problem document), or the answer's data. */
function answer<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) {
    throw new Error(`${result.response.status}: ${JSON.stringify(result.error)}`);
  }
  return result.data;
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface PublishOnceOptions {
  baseUrl: string;
  username: string;
  password: string;
  instagram: { account_id: string; access_token: string };
}

export async function publishOnce(
  options: PublishOnceOptions,
): Promise<{ image: Image; post: Post }> {
  const { api, signIn } = createApiClient(options.baseUrl);
  const { username, password } = options;

  answer(
    await api.POST('/api/auth/register/', {
      body: { username, email: `${username}@example.com`, password, password2: password },
    }),
  );
  const tokens = answer(await api.POST('/api/auth/login/', { body: { username, password } }));
  signIn(tokens.access);

  // Only the prompt and the style: the server's defaults fill in the size and quality.
  const requested = answer(
    await api.POST('/api/images/generate/', {
      body: { prompt: 'A lighthouse at dawn', style: 'realistic' },
    }),
  );
  const params = { path: { id: requested.image.id } };
  const generated = await until(
    async () => answer(await api.GET('/api/images/{id}/', { params })),
    (image) => image.status !== 'pending' && image.status !== 'generating',
  );
  if (generated.status !== 'generated') throw new Error(`generation ended ${generated.status}`);
  const { image } = answer(
    await api.PATCH('/api/images/{id}/validate/', { params, body: { action: 'validate' } }),
  );

  const account = answer(
    await api.POST('/api/scheduler/accounts/', {
      body: { platform: 'instagram', ...options.instagram },
    }),
  );
  const scheduled = answer(
    await api.POST('/api/scheduler/schedule/', {
      body: {
        image: image.id,
        platform: 'instagram',
        account: account.id,
        scheduled_time: new Date(Date.now() + 2_000).toISOString(),
        caption: 'Dawn over the bay',
        hashtags: '#sea #dawn',
      },
    }),
  );
  const post = await until(
    async () =>
      answer(
        await api.GET('/api/scheduler/posts/{id}/', {
          params: { path: { id: scheduled.post.id } },
        }),
      ),
    (current) => current.status === 'posted' || current.status === 'failed',
  );
  return { image, post };
}
