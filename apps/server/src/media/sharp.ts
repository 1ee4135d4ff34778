import type sharpModule from 'sharp';

let loading: Promise<typeof sharpModule> | undefined;

/**
 * sharp, loaded at its first use rather than at boot: libvips is some 20 MB resident, which a
 * process that never decodes an image (an API node serving lists) does not need to hold. The
 * first image a process handles waits for the load once (tens of milliseconds).
 */
export function loadSharp(): Promise<typeof sharpModule> {
  loading ??= import('sharp').then((loaded) => loaded.default);
  return loading;
}
