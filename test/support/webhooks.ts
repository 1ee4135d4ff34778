import type { TestApp } from './test-app.js';
import { bearer, type RegisteredUser } from '../factories/user.factory.js';
import { waitFor } from './wait.js';

/** An endpoint created through the API, with the secret shown once. */
export interface CreatedWebhook {
  id: number;
  url: string;
  secret: string;
}

export async function createWebhook(
  app: TestApp,
  owner: RegisteredUser,
  body: Record<string, unknown>,
): Promise<CreatedWebhook> {
  const response = await app
    .http()
    .post('/api/webhooks/')
    .set(bearer(owner.access))
    .send(body)
    .expect(201);
  return { id: response.body.id, url: response.body.url, secret: response.body.secret };
}

/** The endpoint's delivery log (first page), as its owner reads it. */
export async function deliveriesOf(
  app: TestApp,
  owner: RegisteredUser,
  endpointId: number,
): Promise<Record<string, unknown>[]> {
  const response = await app
    .http()
    .get(`/api/webhooks/${endpointId}/deliveries/?page_size=100`)
    .set(bearer(owner.access))
    .expect(200);
  return response.body.results;
}

/** Waits until the log's newest delivery has settled (succeeded or failed), and answers it. */
export function settledDelivery(
  app: TestApp,
  owner: RegisteredUser,
  endpointId: number,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  return waitFor(
    async () => {
      const [latest] = await deliveriesOf(app, owner, endpointId);
      return latest && latest.status !== 'pending' ? latest : undefined;
    },
    timeoutMs,
    `a settled delivery of webhook ${endpointId}`,
  );
}
