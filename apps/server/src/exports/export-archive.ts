import type { Readable } from 'node:stream';
import { ZipFile } from 'yazl';
import type { MediaStorage } from '../media/media-storage.js';
import type { ExportContext, ExportSection } from './export-section.js';

/**
 * Writes the sections' files into a ZIP streamed into storage under `key`, and answers its size.
 * One entry is in flight at a time: the next file is opened only once the previous one has been
 * read to its end, so memory holds one page of rows or one stream's buffers whatever the export's
 * size (the ZIP's central directory, a few dozen bytes per file, is all that grows). On any
 * failure the upload is aborted: the storage leaves no file under `key`.
 */
export async function writeExportArchive(
  storage: MediaStorage,
  key: string,
  sections: readonly ExportSection[],
  context: ExportContext,
  now = new Date(),
): Promise<number> {
  const zip = new ZipFile();
  const output = zip.outputStream as Readable;
  const upload = storage.putStream(key, output);
  // Settles only if the upload fails early (disk full): the entry being written never ends then.
  const uploadFailed = new Promise<never>((_, reject) => {
    upload.catch(reject);
  });
  uploadFailed.catch(() => undefined);
  try {
    for (const section of sections) {
      for await (const entry of section.entries(context)) {
        const stream = await entry.open();
        if (!stream) continue;
        const written = new Promise<void>((resolve, reject) => {
          stream.once('end', resolve);
          stream.once('error', reject);
        });
        zip.addReadStreamLazy(
          entry.path,
          { compress: entry.compress ?? true, mtime: now },
          (callback) => callback(null, stream),
        );
        await Promise.race([written, uploadFailed]);
      }
    }
    zip.end();
  } catch (error) {
    output.destroy(error as Error);
    await upload.catch(() => undefined);
    throw error;
  }
  return upload;
}
