import { Injectable } from '@nestjs/common';
import { jsonArrayStream } from '../archive-files.js';
import type { ArchiveEntry, ExportContext, ExportSection } from '../export-section.js';

/**
 * `templates.json`: the post templates. TODO(issue 16): the templates table does not exist on
 * this branch yet; once it lands, read the user's templates here a keyset page at a time and
 * present them with the templates controller's presenter (as WebhooksSection does), and count
 * them in `weight()`. Until then the file is an empty array, so the archive's layout is final.
 */
@Injectable()
export class TemplatesSection implements ExportSection {
  weight(): number {
    return 0;
  }

  async *entries(context: ExportContext): AsyncGenerator<ArchiveEntry> {
    async function* none(): AsyncGenerator<never[]> {}
    yield {
      path: 'templates.json',
      open: async () => jsonArrayStream(none(), (n) => context.advance(n)),
    };
  }
}
