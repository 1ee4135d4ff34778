import { type EntityManager, QueryFailedError } from 'typeorm';
import { type FieldErrors, FieldValidationError } from '@app/common';
import { Profile, User } from '@app/database';
import { hashPassword } from './password-hasher.js';

export type UserWithProfile = User & { profile: Profile };

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
  manager: EntityManager,
  input: NewUser,
): Promise<UserWithProfile> {
  const errors: FieldErrors = {};
  if (await usernameTaken(manager, input.username))
    errors.username = ['A user with that username already exists.'];
  if (await emailTaken(manager, input.email))
    errors.email = ['A user with that email already exists.'];
  if (Object.keys(errors).length > 0) throw new FieldValidationError(errors);
  const user = manager.create(User, {
    username: input.username,
    email: input.email,
    password: await hashPassword(input.password),
    firstName: input.firstName ?? '',
    lastName: input.lastName ?? '',
    isStaff: input.isStaff ?? false,
    isSuperuser: input.isSuperuser ?? false,
  });
  try {
    await manager.save(user);
  } catch (error) {
    throw uniqueViolationAsFieldError(error) ?? error;
  }
  const profile = await manager.save(manager.create(Profile, { userId: user.id }));
  return Object.assign(user, { profile });
}

export function usernameTaken(manager: EntityManager, username: string): Promise<boolean> {
  return manager
    .getRepository(User)
    .createQueryBuilder('user')
    .where('lower(user.username) = lower(:username)', { username })
    .getExists();
}

export function emailTaken(
  manager: EntityManager,
  email: string,
  exceptUserId?: number,
): Promise<boolean> {
  const query = manager
    .getRepository(User)
    .createQueryBuilder('user')
    .where('lower(user.email) = lower(:email)', { email });
  if (exceptUserId !== undefined) query.andWhere('user.id <> :exceptUserId', { exceptUserId });
  return query.getExists();
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
