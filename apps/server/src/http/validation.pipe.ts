import {
  type ArgumentMetadata,
  Injectable,
  type PipeTransform,
  ValidationPipe,
} from '@nestjs/common';
import { validationExceptionFactory } from '@app/common';

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
    return (metadata.type === 'query' ? this.lenient : this.strict).transform(value, metadata);
  }
}
