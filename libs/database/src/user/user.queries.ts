import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { Profile } from '../profile/profile.entity.js';
import { User } from './user.entity.js';

export type UserWithProfile = User & { profile: Profile };

/** A new account's row: the password already hashed. */
export interface NewUserRow {
  username: string;
  email: string;
  passwordHash: string;
  firstName: string;
  lastName: string;
  isStaff: boolean;
  isSuperuser: boolean;
}

/** What a profile edit may change on the user row. */
export type UserDetails = Partial<Pick<User, 'email' | 'firstName' | 'lastName'>>;

/** What a profile edit may change on the profile row (besides `updatedAt`, always set). */
export type ProfileChanges = Partial<
  Omit<Profile, 'id' | 'userId' | 'user' | 'createdAt' | 'updatedAt'>
>;

/** Users and their profile (one each, created together). */
@Injectable()
export class UserQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * The account a sign-in names, with its password hash: by username or email, case-insensitively.
   * A username that equals another account's email address signs in as the username.
   * The one lookup of the API's login and the admin panel's.
   */
  findForSignIn(login: string): Promise<User | null> {
    return this.dataSource
      .getRepository(User)
      .createQueryBuilder('user')
      .addSelect('user.password')
      .where('lower(user.username) = lower(:login) OR lower(user.email) = lower(:login)', { login })
      .orderBy('CASE WHEN lower(user.username) = lower(:login) THEN 0 ELSE 1 END')
      .getOne();
  }

  async recordSignIn(userId: number, at: Date = new Date()): Promise<void> {
    await this.dataSource.getRepository(User).update({ id: userId }, { lastLogin: at });
  }

  /** The user with the password hash, row-locked until the caller's transaction ends. */
  lockForPasswordChange(userId: number, manager: EntityManager): Promise<User> {
    return manager
      .createQueryBuilder(User, 'user')
      .addSelect('user.password')
      .setLock('pessimistic_write')
      .where('user.id = :userId', { userId })
      .getOneOrFail();
  }

  async setPassword(
    userId: number,
    passwordHash: string,
    changedAt: Date,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.update(
      User,
      { id: userId },
      { password: passwordHash, passwordChangedAt: changedAt },
    );
  }

  usernameTaken(
    username: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<boolean> {
    return manager
      .getRepository(User)
      .createQueryBuilder('user')
      .where('lower(user.username) = lower(:username)', { username })
      .getExists();
  }

  /** Whether another account (not `exceptUserId`) has this email, case-insensitively. */
  emailTaken(
    email: string,
    exceptUserId?: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<boolean> {
    const query = manager
      .getRepository(User)
      .createQueryBuilder('user')
      .where('lower(user.email) = lower(:email)', { email });
    if (exceptUserId !== undefined) query.andWhere('user.id <> :exceptUserId', { exceptUserId });
    return query.getExists();
  }

  /**
   * Inserts the user, then their profile; run it in a transaction so neither exists alone. A
   * case-insensitive twin fails the user's insert with PostgreSQL's unique violation (23505).
   */
  async insertWithProfile(
    row: NewUserRow,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<UserWithProfile> {
    const { passwordHash, ...fields } = row;
    const user = await manager.save(manager.create(User, { ...fields, password: passwordHash }));
    const profile = await manager.save(manager.create(Profile, { userId: user.id }));
    return Object.assign(user, { profile });
  }

  /** The user with their profile, as the API presents them. */
  withProfile(userId: number): Promise<UserWithProfile> {
    return this.dataSource.getRepository(User).findOneOrFail({
      where: { id: userId },
      relations: { profile: true },
    }) as Promise<UserWithProfile>;
  }

  /** The user's profile (what requesting an image reads); throws if it is missing. */
  profileOf(userId: number, manager: EntityManager = this.dataSource.manager): Promise<Profile> {
    return manager.getRepository(Profile).findOneByOrFail({ userId });
  }

  /** Whether the user has new images validated as soon as they are generated. */
  async autoValidates(
    userId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<boolean> {
    const profile = await manager.getRepository(Profile).findOneBy({ userId });
    return profile?.autoValidateImages ?? false;
  }

  /** The username the API shows as a resource's `user`, read with the caller's manager. */
  async usernameOf(
    userId: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<string> {
    const user = await manager
      .getRepository(User)
      .findOneOrFail({ where: { id: userId }, select: { id: true, username: true } });
    return user.username;
  }

  /** The user row alone (no password): what the admin panel's staff wall re-reads. */
  findById(userId: number): Promise<User | null> {
    return this.dataSource.getRepository(User).findOneBy({ id: userId });
  }

  /** A unique violation on the email fails with PostgreSQL's 23505. */
  async updateDetails(
    userId: number,
    changes: UserDetails,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.update(User, { id: userId }, changes);
  }

  async updateProfile(
    userId: number,
    changes: ProfileChanges,
    updatedAt: Date,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.update(Profile, { userId }, { ...changes, updatedAt });
  }
}
