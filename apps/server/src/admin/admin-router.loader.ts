import path from 'node:path';
import { getQueueToken } from '@nestjs/bull';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import type AdminJS from 'adminjs';
import type { Queue } from 'bull';
import express, {
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
  Router,
} from 'express';
import multer from 'multer';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig, TooManyRequestsError } from '@app/common';
import { QueueName } from '../jobs/job.types.js';
import {
  ADMIN_SESSION_COOKIE,
  adminCookieOptions,
  adminSession,
  type AdminSessionStore,
} from './admin-session.js';
import { AdminSignIn, StaffSignInRefused } from './admin-sign-in.service.js';
import { COMPONENTS_BUNDLE } from './frontend/admin-components.js';
import { queueBoard } from './queue-board.js';

const COMPONENTS_BUNDLE_PATH = '/frontend/assets/components.bundle.js';

/** Bodies the panel accepts: form fields only (no uploads), small. */
const FORM_FIELD_LIMIT = 200;
const FORM_FIELD_BYTES = 1024 * 1024;

/**
 * The router of AdminJS at its root path (AdminPanel mounts it once built). The router is ours
 * rather than @adminjs/express's buildAuthenticatedRouter so that:
 * - sign-in is the staff check with the API's Redis throttle (429 + Retry-After), and a new
 *   session id is issued at sign-in (no fixation);
 * - every request re-reads the staff member (demotion, deactivation or a password change takes
 *   effect at once);
 * - the queue board sits behind the same session;
 * - components.bundle.js is our prebuilt script, never AdminJS's rollup bundler;
 * - the router is appended like any middleware: no reordering of the app's body parsers (a body
 *   express.json already read is handed over as the form fields).
 */
@Injectable()
export class AdminRouterLoader implements OnApplicationShutdown {
  private readonly logger = new Logger('Admin');
  private store?: AdminSessionStore;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly signIn: AdminSignIn,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store?.close();
  }

  async buildRouter(admin: AdminJS): Promise<Router> {
    const { Router: AdminRoutes } = await import('adminjs');
    const { buildRoutes } = await import('@adminjs/express');
    const { rootPath, loginPath, logoutPath } = admin.options;
    const router = Router();

    // Public: the login page needs the front end. No session is read for these.
    router.get(COMPONENTS_BUNDLE_PATH, (_request, response) => {
      response.type('text/javascript').send(COMPONENTS_BUNDLE);
    });
    for (const asset of AdminRoutes.assets) {
      if (asset.path === COMPONENTS_BUNDLE_PATH) continue;
      const file = path.resolve(asset.src);
      router.get(asset.path, (_request, response, next) => {
        // The file is AdminJS's own, under node_modules, whatever folders lead to it.
        response.sendFile(file, { dotfiles: 'allow' }, (error) => error && next(error));
      });
    }

    const { store, middleware } = adminSession(this.config, this.dataSource, rootPath);
    this.store = store;
    router.use(middleware);

    const relative = (full: string) => full.slice(rootPath.length) || '/';
    const loginPage = (errorMessage: string | null) =>
      admin.renderLogin({ action: loginPath, errorMessage });

    router.get(relative(loginPath), async (request, response) => {
      if (request.session.adminUser) return response.redirect(rootPath);
      response.send(await loginPage(null));
    });
    router.post(relative(loginPath), formFields(), async (request, response, next) => {
      const fields = (request as FormRequest).fields ?? {};
      try {
        const { member, passwordChangedAt } = await this.signIn.signIn(
          String(fields.email ?? ''),
          String(fields.password ?? ''),
          request.ip ?? '',
        );
        // A fresh session id for the signed-in session: one planted before sign-in is useless.
        request.session.regenerate((regenerateError) => {
          if (regenerateError) return next(regenerateError);
          request.session.adminUser = member;
          request.session.adminPasswordChangedAt = passwordChangedAt;
          request.session.save((saveError) =>
            saveError ? next(saveError) : response.redirect(302, rootPath),
          );
        });
      } catch (error) {
        if (error instanceof TooManyRequestsError) {
          response
            .status(429)
            .set(error.headers)
            .send(await loginPage(error.message));
        } else if (error instanceof StaffSignInRefused) {
          response.status(401).send(await loginPage('invalidCredentials'));
        } else {
          next(error);
        }
      }
    });
    router.get(relative(logoutPath), (request, response, next) => {
      request.session.destroy((error) => {
        if (error) return next(error);
        const { httpOnly, sameSite, path: cookiePath } = adminCookieOptions(this.config, rootPath);
        response.clearCookie(ADMIN_SESSION_COOKIE, {
          httpOnly,
          sameSite,
          path: cookiePath,
          secure: this.config.env === 'production',
        });
        response.redirect(loginPath);
      });
    });

    // Everything below is for signed-in staff only.
    router.use(this.staffOnly(loginPath));
    router.use(
      '/queues',
      await queueBoard(this.queues(), `${rootPath}/queues`, (request) => request.session.adminUser),
    );
    router.use(formFields());
    buildRoutes({ admin, routes: AdminRoutes.routes, router });
    router.use(this.errors());
    return router;
  }

  private staffOnly(loginPath: string): RequestHandler {
    return (request, response, next) => {
      const member = request.session.adminUser;
      if (!member) return response.redirect(loginPath);
      // An older session, without the moment, holds only while the password never changed.
      const signedInWith = request.session.adminPasswordChangedAt ?? null;
      this.signIn.current(member.id, signedInWith).then((current) => {
        if (current) {
          // Flags may have changed since sign-in (a superuser demoted to staff).
          if (JSON.stringify(current) !== JSON.stringify(member)) {
            request.session.adminUser = current;
          }
          return next();
        }
        request.session.destroy(() => response.redirect(loginPath));
      }, next);
    };
  }

  private queues(): Queue[] {
    return Object.values(QueueName).map((name) =>
      this.moduleRef.get<Queue>(getQueueToken(name), { strict: false }),
    );
  }

  /** AdminJS's errors carry a statusCode (403 forbidden action, 404 missing record). */
  private errors(): ErrorRequestHandler {
    return (error: Error & { statusCode?: number }, request, response: Response, next) => {
      if (response.headersSent) return next(error);
      const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) this.logger.error(error, `${request.method} ${request.originalUrl}`);
      response
        .status(status)
        .json({ message: status === 500 ? 'Internal server error.' : error.message });
    };
  }
}

/** A request once formFields() has run (AdminJS also reads `files`, which stays empty). */
type FormRequest = Request & { fields?: Record<string, unknown> };

/**
 * The form fields of a request, in `request.fields` as AdminJS reads them. The panel's forms carry
 * no uploads, so nothing is ever written to disk: multipart is read in memory and a file part is
 * refused (400) before any sign-in or action; urlencoded is read by Express; a JSON body was
 * already read by the app's express.json (AdminJS's client posts some actions as JSON).
 * express-formidable, before, kept every file part in the temporary folder for good.
 */
function formFields(): RequestHandler {
  const urlencoded = express.urlencoded({
    extended: false,
    limit: FORM_FIELD_BYTES,
    parameterLimit: FORM_FIELD_LIMIT,
  });
  const multipart = multer({
    limits: { fieldSize: FORM_FIELD_BYTES, fields: FORM_FIELD_LIMIT, parts: FORM_FIELD_LIMIT },
  }).none();
  return (request, response, next) => {
    if ((request as FormRequest).fields) return next();
    const done = (error?: unknown) => {
      if (error) return next(formError(error));
      Object.assign(request, { fields: { ...(request.body ?? {}) }, files: {} });
      next();
    };
    // Read already (express.json): the stream has nothing more to give.
    if (request.readableEnded || request.body !== undefined) return done();
    urlencoded(request, response, (error?: unknown) =>
      error ? done(error) : multipart(request, response, done),
    );
  };
}

/** A bad form is the client's error (a file part, a malformed body: 400; too large: 413). */
function formError(error: unknown): unknown {
  if (!(error instanceof Error) || 'statusCode' in error) return error;
  const tooLarge = error instanceof multer.MulterError && error.code !== 'LIMIT_UNEXPECTED_FILE';
  const message =
    error instanceof multer.MulterError && error.code === 'LIMIT_UNEXPECTED_FILE'
      ? `The admin forms take no files (part "${error.field}").`
      : error.message;
  return Object.assign(new Error(message), { statusCode: tooLarge ? 413 : 400 });
}
