import { Injectable } from '@nestjs/common';
import { type User, UserQueries } from '@app/database';
import { LoginThrottle } from '../auth/login-throttle.service.js';
import { verifyAgainstNothing, verifyPassword } from '../auth/password-hasher.js';

/** What the admin session holds about the signed-in staff member (AdminJS's CurrentAdmin). */
export interface StaffMember {
  id: number;
  /** AdminJS shows `email` as the name in its top bar: ours is the username. */
  email: string;
  /** Shown under the name: Superuser or Staff. */
  title: string;
  isSuperuser: boolean;
}

/**
 * A sign-in: the staff member, and when their password last changed (ISO, null if never). The
 * session keeps the moment; a password changed since ends the session (a stolen cookie with it).
 */
export interface StaffSignIn {
  member: StaffMember;
  passwordChangedAt: string | null;
}

/** Wrong credentials, an inactive account or one without `is_staff`: one answer for all three. */
export class StaffSignInRefused extends Error {
  constructor() {
    super('invalidCredentials');
  }
}

/**
 * Staff sign-in for /admin: the API's rules (username or email, argon2 check, timing-safe miss)
 * and the API's Redis throttle, with the same counters, so failures here and at
 * POST /api/auth/login/ add up per account and per address.
 */
@Injectable()
export class AdminSignIn {
  constructor(
    private readonly users: UserQueries,
    private readonly throttle: LoginThrottle,
  ) {}

  /** Throws TooManyRequestsError when throttled, StaffSignInRefused when refused. */
  async signIn(login: string, password: string, ip: string): Promise<StaffSignIn> {
    const user = await this.users.findForSignIn(login);
    const account = user ? `user:${user.id}` : login;
    // Counted as a failure before the check: see LoginThrottle.
    await this.throttle.takeAttempt(account, ip);
    const valid = user
      ? await verifyPassword(user.password, password)
      : (await verifyAgainstNothing(password), false);
    if (!user || !valid) throw new StaffSignInRefused();
    // The password was right: not a guess, so not counted; but no panel for non-staff.
    if (!user.isActive || !user.isStaff) {
      await this.throttle.giveBackAttempt(account, ip);
      throw new StaffSignInRefused();
    }
    await this.throttle.recordSuccess(account, ip);
    await this.users.recordSignIn(user.id);
    return { member: staffMember(user), passwordChangedAt: passwordChangedAt(user) };
  }

  /**
   * Re-read on every admin request: a staff member who is demoted or deactivated, or whose
   * password changed since `signedInWith` (the sign-in's passwordChangedAt), loses the panel at
   * their next click, not when their cookie expires. Null when they no longer qualify.
   */
  async current(userId: number, signedInWith: string | null): Promise<StaffMember | null> {
    const user = await this.users.findById(userId);
    return user?.isActive && user.isStaff && passwordChangedAt(user) === signedInWith
      ? staffMember(user)
      : null;
  }
}

function passwordChangedAt(user: User): string | null {
  return user.passwordChangedAt?.toISOString() ?? null;
}

function staffMember(user: User): StaffMember {
  return {
    id: user.id,
    email: user.username,
    title: user.isSuperuser ? 'Superuser' : 'Staff',
    isSuperuser: user.isSuperuser,
  };
}
