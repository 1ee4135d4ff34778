import type { ValidationError } from 'class-validator';
import type { FieldErrors } from './app-error.js';
import { FieldValidationError } from './app-error.js';

/** Flattens class-validator's tree into `{ "field": [...], "nested.field": [...] }`. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldErrors {
  const out: FieldErrors = {};
  for (const error of errors) {
    const field = parent ? `${parent}.${error.property}` : error.property;
    if (error.constraints) {
      const messages = Object.entries(error.constraints).map(([rule, message]) =>
        rule === 'whitelistValidation' ? 'This field is not allowed.' : message,
      );
      out[field] = [...(out[field] ?? []), ...messages];
    }
    if (error.children?.length) Object.assign(out, flattenValidationErrors(error.children, field));
  }
  return out;
}

/** The ValidationPipe's exceptionFactory: a 400 problem that names every field at fault. */
export function validationExceptionFactory(errors: ValidationError[]): FieldValidationError {
  return new FieldValidationError(flattenValidationErrors(errors));
}
