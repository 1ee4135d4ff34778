import type { PostTemplate, PostTemplateQueries } from '@app/database';
import type { TemplateResponse } from './dto/template.dto.js';

/** A template as the API (and the data export's `templates.json`) shows it. */
export function presentTemplate(template: PostTemplate): TemplateResponse {
  return {
    id: template.id,
    name: template.name,
    caption: template.caption,
    hashtags: template.hashtags,
    variants: template.variants,
    created_at: template.createdAt.toISOString(),
    updated_at: template.updatedAt.toISOString(),
  };
}

/**
 * Every template of the user, oldest first, presented: batches of `batchSize` read one after
 * the other, so that an export writing them as a stream holds one batch at a time.
 */
export async function* templatesForExport(
  queries: PostTemplateQueries,
  userId: number,
  batchSize = 500,
): AsyncGenerator<TemplateResponse> {
  let afterId = 0;
  for (;;) {
    const batch = await queries.batchOfUser(userId, afterId, batchSize);
    for (const template of batch) yield presentTemplate(template);
    if (batch.length < batchSize) return;
    afterId = batch[batch.length - 1].id;
  }
}
