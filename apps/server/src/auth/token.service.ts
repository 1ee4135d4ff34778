import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig, MemoryCache } from '@app/common';
import { type RevocationReason, TokenFamilyQueries } from '@app/database';
import { InvalidTokenError, RefreshTokenReusedError } from './auth.errors.js';

export const JWT_ALGORITHM = 'HS256';
export const JWT_ISSUER = 'image-automation';

export type TokenType = 'access' | 'refresh';

export interface TokenClaims {
  sub: string;
  typ: TokenType;
  /** The token family (one sign-in); revoking it kills its refresh and access tokens. */
  fam: string;
  jti: string;
}

export interface TokenPair {
  access: string;
  refresh: string;
}

export type { RevocationReason };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Tokens kept verified (a few hundred bytes each): the recently used ones of as many sign-ins. */
const VERIFIED_TOKENS_KEPT = 10_000;

@Injectable()
export class TokenService {
  /**
   * Tokens whose signature and claims were verified, by their exact text, until they expire.
   * A client sends the same access token on every request for its 15 minutes; checking its
   * HMAC and claims again each time cost about 100 µs of CPU per request (half the app's
   * overhead on GET /api/auth/me/, docs/benchmarks.md). Only a token that passed verification
   * is kept, keyed by all its bytes (signature included), so no other text can match it; expiry
   * is checked at each use as jsonwebtoken checks it. Revocation is not a property of the token:
   * the bearer check asks the database for the family on every request, cached or not.
   */
  private readonly verified = new MemoryCache<Readonly<TokenClaims & { exp: number }>>(
    VERIFIED_TOKENS_KEPT,
    () => 1,
  );

  constructor(
    private readonly jwt: JwtService,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly families: TokenFamilyQueries,
  ) {}

  /** A new sign-in: a new family and its first pair. */
  async startSession(
    userId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<TokenPair> {
    const familyId = randomUUID();
    await this.families.insertFamily(
      { id: familyId, userId, expiresAt: this.refreshExpiry() },
      manager,
    );
    return this.issuePair(manager, userId, familyId);
  }

  /**
   * Exchanges a refresh token for a new pair. A token already exchanged is reuse: its whole
   * family is revoked (committed) before the 401, so a thief's copy and the owner's die together.
   */
  async rotate(refreshToken: string): Promise<TokenPair> {
    const claims = await this.verify(refreshToken, 'refresh');
    const outcome = await this.dataSource.transaction(async (manager) => {
      const row = await this.families.lockRefreshToken(claims.jti, manager);
      if (!row || row.family.revokedAt || row.expiresAt.getTime() <= Date.now())
        return 'invalid' as const;
      if (row.usedAt) {
        await this.families.revokeFamily(row.familyId, 'reuse_detected', manager);
        return 'reused' as const;
      }
      await this.families.markRotated(row.id, row.familyId, this.refreshExpiry(), manager);
      return this.issuePair(manager, row.userId, row.familyId);
    });
    if (outcome === 'invalid') throw new InvalidTokenError();
    if (outcome === 'reused') throw new RefreshTokenReusedError();
    return outcome;
  }

  /** Logout: the refresh token's family ends, with the access tokens it issued. */
  async revokeSessionOf(refreshToken: string, userId: number): Promise<boolean> {
    let claims: TokenClaims;
    try {
      claims = await this.verify(refreshToken, 'refresh');
    } catch {
      return false;
    }
    if (Number(claims.sub) !== userId) return false;
    const affected = await this.families.revokeFamilyOfUser(claims.fam, userId, 'logout');
    return affected > 0;
  }

  revokeAllSessions(
    userId: number,
    reason: RevocationReason,
    manager: EntityManager = this.dataSource.manager,
  ) {
    return this.families.revokeAllOfUser(userId, reason, manager);
  }

  /** Verifies signature (HS256 only), issuer, expiry and type; claims are then trusted. */
  async verify(token: string, type: TokenType): Promise<TokenClaims> {
    const claims = this.verifiedClaims(token);
    if (
      claims.typ !== type ||
      !UUID.test(claims.fam ?? '') ||
      !UUID.test(claims.jti ?? '') ||
      !/^\d+$/.test(claims.sub ?? '')
    ) {
      throw new InvalidTokenError(`The token is not a valid ${type} token.`);
    }
    return claims;
  }

  /** The token's claims once its signature, algorithm, issuer and expiry are checked. */
  private verifiedClaims(token: string): Readonly<TokenClaims> {
    const kept = this.verified.peek(token);
    // jsonwebtoken's own test: expired from the second `exp` names.
    if (kept && Math.floor(Date.now() / 1000) < kept.exp) return this.verified.use(token, kept);
    let claims: TokenClaims & { exp: number };
    try {
      claims = this.jwt.verify<TokenClaims & { exp: number }>(token, {
        algorithms: [JWT_ALGORITHM],
        issuer: JWT_ISSUER,
      });
    } catch (error) {
      if (kept) this.verified.delete(token);
      throw new InvalidTokenError(
        (error as Error).name === 'TokenExpiredError' ? 'The token has expired.' : undefined,
      );
    }
    // Our tokens all carry `exp`; one without it would never leave the cache, so is not kept.
    if (typeof claims.exp === 'number') this.verified.set(token, Object.freeze(claims));
    return claims;
  }

  private async issuePair(
    manager: EntityManager,
    userId: number,
    familyId: string,
  ): Promise<TokenPair> {
    const refreshId = randomUUID();
    await this.families.insertRefreshToken(
      { id: refreshId, familyId, userId, expiresAt: this.refreshExpiry() },
      manager,
    );
    const sign = (typ: TokenType, jti: string, expiresIn: number) =>
      this.jwt.signAsync({ typ, fam: familyId, jti } satisfies Omit<TokenClaims, 'sub'>, {
        subject: String(userId),
        expiresIn,
        algorithm: JWT_ALGORITHM,
        issuer: JWT_ISSUER,
      });
    const [access, refresh] = await Promise.all([
      sign('access', randomUUID(), this.config.auth.accessTtlSeconds),
      sign('refresh', refreshId, this.config.auth.refreshTtlSeconds),
    ]);
    return { access, refresh };
  }

  private refreshExpiry(): Date {
    return new Date(Date.now() + this.config.auth.refreshTtlSeconds * 1000);
  }
}
