import { ConflictError } from '@app/common';
import type { PostStatus } from '@app/database';

export class PostStateError extends ConflictError {
  constructor(action: string, status: PostStatus) {
    super('invalid_post_state', `Cannot ${action} a post that is ${status}.`);
  }
}
