import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { UserWithProfile } from './auth.service.js';

/** The authenticated user (with profile) that the bearer check loaded. */
export const CurrentUser = createParamDecorator(
  (_: unknown, context: ExecutionContext) =>
    context.switchToHttp().getRequest<Request>().user as UserWithProfile,
);
