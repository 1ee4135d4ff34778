export type FieldErrors = Record<string, string[]>;

/**
 * The base of every error a service throws on purpose. Services never throw HttpException:
 * the global ProblemFilter turns an AppError into an RFC 9457 problem document.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    /** A stable, machine-readable name, also used in the problem's `type`. */
    readonly code: string,
    message: string,
    readonly errors?: FieldErrors,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400 naming the fields at fault, like a DRF serializer's errors. */
export class FieldValidationError extends AppError {
  constructor(errors: FieldErrors, message = 'The request has invalid fields.') {
    super(400, 'validation_error', message, errors);
  }

  static of(field: string, ...messages: string[]): FieldValidationError {
    return new FieldValidationError({ [field]: messages });
  }
}

/** 404 for a missing object and for another user's object alike, so neither is revealed. */
export class NotFoundError extends AppError {
  constructor(what = 'object') {
    super(404, 'not_found', `No ${what} matches the given query.`);
  }
}

/** 409: a valid request made in a state that forbids it. */
export class ConflictError extends AppError {
  constructor(code: string, message: string) {
    super(409, code, message);
  }
}

export class TooManyRequestsError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(429, 'too_many_requests', message, undefined, {
      'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))),
    });
  }
}
