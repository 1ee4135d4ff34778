import { ConflictError, TooManyRequestsError } from '@app/common';
import type { ImageStatus } from '@app/database';

export class ImageStateError extends ConflictError {
  constructor(action: string, status: ImageStatus) {
    super('invalid_image_state', `Cannot ${action} an image that is ${status}.`);
  }
}

export class GenerationQuotaError extends TooManyRequestsError {
  constructor(message: string, retryAfterSeconds: number) {
    super(message, retryAfterSeconds);
  }
}

/** Another edit of the same image committed while this one was rendering, more than once. */
export class ImageEditConflictError extends ConflictError {
  constructor() {
    super(
      'edit_conflict',
      'The image was edited by another request meanwhile; send the edit again.',
    );
  }
}
