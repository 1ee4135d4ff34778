// express-formidable ships no types; this is the one call the admin router makes.
declare module 'express-formidable' {
  import type { RequestHandler } from 'express';

  interface FormidableOptions {
    maxFieldsSize?: number;
    maxFileSize?: number;
    maxFields?: number;
    multiples?: boolean;
  }

  export default function formidableMiddleware(options?: FormidableOptions): RequestHandler;
}
