import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { IS_PUBLIC } from '../http/public.decorator.js';
import { InvalidTokenError } from './auth.errors.js';
import { AuthService } from './auth.service.js';
import type { AuthenticatedRequest } from './authenticated-request.js';
import { TokenService } from './token.service.js';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Global: every endpoint needs a bearer access token unless marked @Public(). The token is
 * verified with the algorithm pinned (HS256: `alg: none` and algorithm confusion fail), must be
 * an access token, and its sign-in (token family) must still be alive. One query loads the user.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    if (!header)
      throw new InvalidTokenError(
        'Authentication credentials were not provided.',
        'not_authenticated',
      );
    const token = BEARER.exec(header)?.[1];
    if (!token)
      throw new InvalidTokenError('The Authorization header must be "Bearer <access token>".');
    const claims = await this.tokens.verify(token, 'access');
    const user = await this.auth.findAuthenticated(Number(claims.sub), claims.fam);
    if (!user) throw new InvalidTokenError();
    request.user = user;
    return true;
  }
}
