import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AppError } from '@app/common';
import { ACCEPTS_FORM } from './accepts-form.decorator.js';
import { ACCEPTS_MULTIPART } from './accepts-multipart.decorator.js';

/** A body in a type the endpoint does not read is 415, not a confusing "field required". */
@Injectable()
export class ContentTypeGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    const hasBody =
      request.headers['transfer-encoding'] !== undefined ||
      Number(request.headers['content-length'] ?? 0) > 0;
    if (!hasBody) return true;
    const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type === 'application/json' || type.endsWith('+json')) return true;
    const multipart = this.reflector.getAllAndOverride<boolean>(ACCEPTS_MULTIPART, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (multipart && type === 'multipart/form-data') return true;
    const form = this.reflector.getAllAndOverride<boolean>(ACCEPTS_FORM, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (form && type === 'application/x-www-form-urlencoded') return true;
    const accepted = multipart
      ? 'application/json or multipart/form-data'
      : form
        ? 'application/json or application/x-www-form-urlencoded'
        : 'application/json';
    throw new AppError(
      415,
      'unsupported_media_type',
      `Unsupported media type "${type || 'none'}": send ${accepted}.`,
    );
  }
}
