import { Injectable } from '@nestjs/common';
import { presentUser } from '../../auth/auth.presenter.js';
import { jsonStream } from '../archive-files.js';
import type { ArchiveEntry, ExportContext, ExportSection } from '../export-section.js';

/** `profile.json`: the account as `GET auth/me/` answers it (never the password hash). */
@Injectable()
export class ProfileSection implements ExportSection {
  weight(): number {
    return 1;
  }

  async *entries(context: ExportContext): AsyncGenerator<ArchiveEntry> {
    yield {
      path: 'profile.json',
      open: async () => {
        await context.advance(1);
        return jsonStream(presentUser(context.user, (key) => context.mediaPath(key)));
      },
    };
  }
}
