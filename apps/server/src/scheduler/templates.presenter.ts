import type { PostTemplate } from '@app/database';
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
