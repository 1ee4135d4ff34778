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
    if (metadata.type === 'body' || metadata.type === 'query') {
      const field = fieldWithNul(value);
      if (field !== null) throw FieldValidationError.of(field, 'Null characters are not allowed.');
    }
    return (metadata.type === 'query' ? this.lenient : this.strict).transform(value, metadata);
  }
}

/**
 * The first field (dotted path; an array's own name) whose text holds a NUL character, which
 * PostgreSQL cannot store in text: refused here as a 400 rather than failing in the database.
 */
function fieldWithNul(value: unknown, path = ''): string | null {
  if (typeof value === 'string')
    return value.includes('\u0000') ? path || 'non_field_errors' : null;
  if (Array.isArray(value)) {
    for (const item of value)
      if (fieldWithNul(item, path) !== null) return path || 'non_field_errors';
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = fieldWithNul(item, path ? `${path}.${key}` : key);
      if (found !== null) return found;
    }
  }
  return null;
}
