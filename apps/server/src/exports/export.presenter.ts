import type { DataExport } from '@app/database';
import type { MediaUrlSigner } from '../media/media-url.signer.js';
import type { ExportResponse } from './dto/export.dto.js';

/** The download URL expires with the export itself, whenever it is asked for. */
export function presentExport(
  row: DataExport,
  signer: MediaUrlSigner,
  now = Date.now(),
): ExportResponse {
  const downloadable =
    row.status === 'ready' && row.storageKey && row.expiresAt && row.expiresAt.getTime() > now;
  return {
    id: row.id,
    status: row.status,
    include_media: row.includeMedia,
    progress: row.progress,
    size: row.size,
    download_url: downloadable
      ? signer.sign(
          row.storageKey!,
          Math.floor(row.expiresAt!.getTime() / 1000) - Math.floor(now / 1000),
          now,
        )
      : null,
    expires_at: row.expiresAt?.toISOString() ?? null,
    error: row.error,
    created_at: row.createdAt.toISOString(),
    finished_at: row.finishedAt?.toISOString() ?? null,
  };
}
