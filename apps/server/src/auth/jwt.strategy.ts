import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { InvalidTokenError } from './auth.errors.js';
import { AuthService, type UserWithProfile } from './auth.service.js';
import { JWT_ALGORITHM, JWT_ISSUER, type TokenClaims } from './token.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Bearer access tokens: HS256 only (so `alg: none` and RS/HS confusion fail), typed, not revoked. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy) {
  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly auth: AuthService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: config.auth.jwtSecret,
      algorithms: [JWT_ALGORITHM],
      issuer: JWT_ISSUER,
      ignoreExpiration: false,
    });
  }

  async validate(claims: TokenClaims): Promise<UserWithProfile> {
    if (
      claims.typ !== 'access' ||
      !UUID.test(claims.fam ?? '') ||
      !/^\d{1,10}$/.test(claims.sub ?? '')
    ) {
      throw new InvalidTokenError('The token is not a valid access token.');
    }
    const user = await this.auth.findAuthenticated(Number(claims.sub), claims.fam);
    if (!user) throw new InvalidTokenError();
    return user;
  }
}
