import type { Request } from 'express';
import type { AuthenticatedUser } from '@app/database';

/** A request that passed JwtAuthGuard: the user it loaded rides along. */
export interface AuthenticatedRequest extends Request {
  user: AuthenticatedUser;
}
