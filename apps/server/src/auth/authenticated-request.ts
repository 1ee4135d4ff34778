import type { Request } from 'express';
import type { UserWithProfile } from './user-accounts.js';

/** A request that passed JwtAuthGuard: the user it loaded rides along. */
export interface AuthenticatedRequest extends Request {
  user: UserWithProfile;
}
