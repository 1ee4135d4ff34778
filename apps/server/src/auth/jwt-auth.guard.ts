import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { IS_PUBLIC } from '../http/public.decorator.js';
import { InvalidTokenError } from './auth.errors.js';

/** Global: every endpoint needs a bearer access token unless marked @Public(). */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    return isPublic ? true : super.canActivate(context);
  }

  override handleRequest<TUser>(error: unknown, user: TUser | false, info: unknown): TUser {
    if (error instanceof InvalidTokenError) throw error;
    if (error || !user) {
      const reason =
        info instanceof Error && info.name === 'TokenExpiredError'
          ? 'The token has expired.'
          : undefined;
      throw info instanceof Error && info.message === 'No auth token'
        ? new InvalidTokenError(
            'Authentication credentials were not provided.',
            'not_authenticated',
          )
        : new InvalidTokenError(reason);
    }
    return user;
  }
}
