import { SetMetadata } from '@nestjs/common';

export const ACCEPTS_MULTIPART = 'acceptsMultipart';

/** The endpoint takes multipart/form-data as well as JSON (file uploads). */
export const AcceptsMultipart = () => SetMetadata(ACCEPTS_MULTIPART, true);
