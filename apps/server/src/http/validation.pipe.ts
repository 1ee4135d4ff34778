import {
  type ArgumentMetadata,
  Injectable,
  type PipeTransform,
  ValidationPipe,
} from '@nestjs/common';
import { FieldValidationError, validationExceptionFactory } from '@app/common';

const common = {
  whitelist: true,
  stopAtFirstError: true,
  transform: true,
  transformOptions: { enableImplicitConversion: false },
  exceptionFactory: validationExceptionFactory,
};

/**
 * Bodies are strict: an unknown field is a 400 naming it. Query strings are lenient about
 * parameters they do not know (dropped, as DRF ignores them: `?format=json`, cache busters),
 * strict about the values of those they do.
 */
@Injectable()
export class AppValidationPipe implements PipeTransform {
  private readonly strict = new ValidationPipe({ ...common, forbidNonWhitelisted: true });
  private readonly lenient = new ValidationPipe({ ...common, forbidNonWhitelisted: false });

  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    // Path parameters are the pipes' own (IdPipe): converting them here first would read
    // `0x10` or ` 16` as 16.
    if (metadata.type !== 'body' && metadata.type !== 'query') return value;
    const fault = unstorableText(value);
    if (fault !== null) throw FieldValidationError.of(fault.field, fault.message);
    return (metadata.type === 'query' ? this.lenient : this.strict).transform(value, metadata);
  }
}

/** A lone surrogate half: in unicode mode a well-formed pair is one code point, not matched. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Why text cannot be stored, if it cannot: PostgreSQL takes neither NUL nor unpaired halves. */
function textFault(text: string): string | null {
  if (text.includes('\u0000')) return 'Null characters are not allowed.';
  if (LONE_SURROGATE.test(text))
    return 'Unpaired UTF-16 surrogates are not allowed: text must be valid Unicode.';
  return null;
}

/**
 * The first field (dotted path; an array's own name) whose text PostgreSQL cannot store, with
 * why: refused here as a 400 rather than failing in the database as a 500.
 */
function unstorableText(value: unknown, path = ''): { field: string; message: string } | null {
  if (typeof value === 'string') {
    const message = textFault(value);
    return message === null ? null : { field: path || 'non_field_errors', message };
  }
  if (Array.isArray(value)) {
    for (const item of value) {
      const fault = unstorableText(item, path);
      if (fault !== null) return { field: path || 'non_field_errors', message: fault.message };
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const fault = unstorableText(item, path ? `${path}.${key}` : key);
      if (fault !== null) return fault;
    }
  }
  return null;
}
