import { type EntityManager, QueryFailedError } from 'typeorm';
import { type FieldErrors, FieldValidationError } from '@app/common';
import type { UserQueries, UserWithProfile } from '@app/database';
import { hashPassword } from './password-hasher.js';

export type { UserWithProfile };

export interface NewUser {
  username: string;
  email: string;
  password: string;
  firstName?: string;
  lastName?: string;
  isStaff?: boolean;
  isSuperuser?: boolean;
}

/**
 * Creates a user and their profile in the caller's transaction (the API's register and the CLI's
 * createsuperuser). Uniqueness is checked first for a clear message, and again by the
 * case-insensitive unique indexes against a concurrent twin.
 */
export async function createUserWithProfile(
  users: UserQueries,
  input: NewUser,
  manager: EntityManager,
): Promise<UserWithProfile> {
  const errors: FieldErrors = {};
  if (await users.usernameTaken(input.username, manager))
    errors.username = ['A user with that username already exists.'];
  if (await users.emailTaken(input.email, undefined, manager))
    errors.email = ['A user with that email already exists.'];
  if (Object.keys(errors).length > 0) throw new FieldValidationError(errors);
  const passwordHash = await hashPassword(input.password);
  try {
    return await users.insertWithProfile(
      {
        username: input.username,
        email: input.email,
        passwordHash,
        firstName: input.firstName ?? '',
        lastName: input.lastName ?? '',
        isStaff: input.isStaff ?? false,
        isSuperuser: input.isSuperuser ?? false,
      },
      manager,
    );
  } catch (error) {
    throw uniqueViolationAsFieldError(error) ?? error;
  }
}

/** A unique-index violation raced past the pre-check: answered like the pre-check would. */
export function uniqueViolationAsFieldError(error: unknown): FieldValidationError | null {
  if (
    !(error instanceof QueryFailedError) ||
    (error.driverError as { code?: string }).code !== '23505'
  )
    return null;
  const constraint = (error.driverError as { constraint?: string }).constraint ?? '';
  if (constraint.includes('username'))
    return FieldValidationError.of('username', 'A user with that username already exists.');
  if (constraint.includes('email'))
    return FieldValidationError.of('email', 'A user with that email already exists.');
  return null;
}
