import { Logger } from '@nestjs/common';
import connectPgSimple from 'connect-pg-simple';
import session, { type CookieOptions } from 'express-session';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '@app/common';
import type { StaffMember } from './admin-sign-in.service.js';

declare module 'express-session' {
  interface SessionData {
    adminUser?: StaffMember;
    /** The user's passwordChangedAt at sign-in (see StaffSignIn); absent in older sessions. */
    adminPasswordChangedAt?: string | null;
  }
}

export const ADMIN_SESSION_COOKIE = 'ia_admin';
/** Created by the AdminSessions migration. */
export const ADMIN_SESSION_TABLE = 'admin_sessions';

export type AdminSessionStore = InstanceType<ReturnType<typeof connectPgSimple>>;

/** HttpOnly, SameSite=Lax, scoped to /admin, Secure in production (HTTPS, or TRUST_PROXY behind one). */
export function adminCookieOptions(config: AppConfig, rootPath: string): CookieOptions {
  return {
    httpOnly: true,
    sameSite: 'lax',
    secure: config.env === 'production',
    path: rootPath,
    maxAge: config.admin.sessionTtlSeconds * 1000,
  };
}

/**
 * Sessions in PostgreSQL (connect-pg-simple, on the app's own connection pool), so every API
 * replica knows every sign-in and a restart signs nobody out. Only signed-in staff get a session:
 * an anonymous visit writes nothing.
 */
export function adminSession(config: AppConfig, dataSource: DataSource, rootPath: string) {
  const PgStore = connectPgSimple(session);
  const logger = new Logger('AdminSessions');
  const store: AdminSessionStore = new PgStore({
    pool: (dataSource.driver as unknown as { master: Pool }).master,
    tableName: ADMIN_SESSION_TABLE,
    // Expired rows are deleted every 15 minutes or so by each replica (randomised, cheap).
    pruneSessionInterval: 15 * 60,
    errorLog: (...args: unknown[]) => logger.error(args.map(String).join(' ')),
  });
  const middleware = session({
    store,
    name: ADMIN_SESSION_COOKIE,
    secret: config.session.secret,
    resave: false,
    saveUninitialized: false,
    // Each request renews the idle lifetime (the store's expiry with it).
    rolling: true,
    cookie: adminCookieOptions(config, rootPath),
  });
  return { store, middleware };
}
