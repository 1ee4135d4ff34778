import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';

export const IS_PUBLIC = 'isPublic';

/** Marks a public operation in the explored document; `normaliseDocument` turns it into `security: []`. */
export const PUBLIC_OPERATION_EXTENSION = 'x-public-operation';

/**
 * The endpoint needs no bearer token (register, login, refresh, health, media). The OpenAPI
 * document says so with `security: []`, overriding the document-wide bearer requirement.
 */
export const Public = () =>
  applyDecorators(SetMetadata(IS_PUBLIC, true), ApiExtension(PUBLIC_OPERATION_EXTENSION, true));
