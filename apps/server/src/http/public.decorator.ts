import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'isPublic';

/** The endpoint needs no bearer token (register, login, refresh, health, media). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
