import { AppError } from '@app/common';

export class InvalidCredentialsError extends AppError {
  constructor() {
    super(401, 'invalid_credentials', 'No active account found with the given credentials.');
  }
}

/** Missing, malformed, expired, revoked or wrong-type tokens alike. */
export class InvalidTokenError extends AppError {
  constructor(message = 'The token is invalid, expired or revoked.', code = 'token_not_valid') {
    super(401, code, message, undefined, { 'WWW-Authenticate': 'Bearer realm="api"' });
  }
}

export class RefreshTokenReusedError extends AppError {
  constructor() {
    super(
      401,
      'token_reused',
      'This refresh token was already used: the session it belonged to is now revoked.',
    );
  }
}
