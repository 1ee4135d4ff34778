import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { PageSlice } from '../page-slice.js';
import { WebhookEndpoint } from './webhook-endpoint.entity.js';

/** An endpoint's sealed secrets, as TokenCipher left them. */
export type SealedSecrets = Pick<
  WebhookEndpoint,
  'id' | 'secretEncrypted' | 'previousSecretEncrypted' | 'previousSecretExpiresAt'
>;

/** Namespace of the per-user advisory lock that serialises endpoint creation (the 10 limit). */
const CREATE_LOCK_NAMESPACE = 727_401;

/** Every statement on `webhook_endpoints`. */
@Injectable()
export class WebhookEndpointQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** A user's endpoints, oldest first (there are at most a handful). */
  async pageOfUser(
    userId: number,
    page: PageSlice,
  ): Promise<{ count: number; rows: WebhookEndpoint[] }> {
    const [rows, count] = await this.dataSource.getRepository(WebhookEndpoint).findAndCount({
      where: { userId },
      order: { id: 'ASC' },
      skip: page.offset,
      take: page.pageSize,
    });
    return { count, rows };
  }

  /** The user's endpoint (secrets not selected); null when it is not theirs. */
  findOwned(
    userId: number,
    id: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<WebhookEndpoint | null> {
    return manager.getRepository(WebhookEndpoint).findOneBy({ id, userId });
  }

  /**
   * How many endpoints the user has, counted after taking the user's creation lock (held until
   * the caller's transaction ends), so two creations at once cannot both pass the limit.
   */
  async countOfUserLocked(userId: number, manager: EntityManager): Promise<number> {
    await manager.query('SELECT pg_advisory_xact_lock($1, $2)', [CREATE_LOCK_NAMESPACE, userId]);
    return manager.getRepository(WebhookEndpoint).countBy({ userId });
  }

  /** A new endpoint, its secret still empty (sealed to the row's id, which this returns). */
  async insert(
    endpoint: Pick<WebhookEndpoint, 'userId' | 'url' | 'description' | 'events'>,
    manager: EntityManager,
  ): Promise<number> {
    const inserted = await manager.insert(WebhookEndpoint, { ...endpoint, secretEncrypted: '' });
    return (inserted.identifiers[0] as { id: number }).id;
  }

  /** New values of the user's endpoint (sealed secrets included). */
  async change(
    userId: number,
    id: number,
    changes: Partial<
      Pick<
        WebhookEndpoint,
        | 'url'
        | 'description'
        | 'events'
        | 'isActive'
        | 'disabledReason'
        | 'secretEncrypted'
        | 'previousSecretEncrypted'
        | 'previousSecretExpiresAt'
      >
    >,
    manager: EntityManager,
  ): Promise<void> {
    await manager.update(WebhookEndpoint, { id, userId }, { ...changes, updatedAt: new Date() });
  }

  /** Deletes the user's endpoint and its deliveries; false when it is not theirs. */
  async delete(userId: number, id: number): Promise<boolean> {
    const result = await this.dataSource.getRepository(WebhookEndpoint).delete({ id, userId });
    return Boolean(result.affected);
  }

  /** The user's endpoint with its sealed secrets, locked until the caller's transaction ends. */
  lockOwnedWithSecrets(
    userId: number,
    id: number,
    manager: EntityManager,
  ): Promise<WebhookEndpoint | null> {
    return manager
      .getRepository(WebhookEndpoint)
      .createQueryBuilder('endpoint')
      .addSelect(['endpoint.secretEncrypted', 'endpoint.previousSecretEncrypted'])
      .setLock('pessimistic_write')
      .where('endpoint.id = :id AND endpoint.user_id = :userId', { id, userId })
      .getOne();
  }

  /**
   * Turns an active endpoint off for `reason`; its owner and URL when it was active, null when it
   * was off already (so that its owner is told once).
   */
  async disable(id: number, reason: string): Promise<{ userId: number; url: string } | null> {
    // An UPDATE answers [rows, affected] through TypeORM.
    const [rows]: [{ user_id: number; url: string }[], number] = await this.dataSource.query(
      `UPDATE webhook_endpoints SET is_active = false, disabled_reason = $2, updated_at = now()
       WHERE id = $1 AND is_active RETURNING user_id, url`,
      [id, reason],
    );
    return rows[0] ? { userId: rows[0].user_id, url: rows[0].url } : null;
  }

  /**
   * Up to `limit` endpoints with ids above `afterId`, in id order, with their sealed secrets: one
   * batch of a pass over every stored secret (the re-encryption), read without locks.
   */
  sealedSecretsAfter(afterId: number, limit: number): Promise<SealedSecrets[]> {
    return this.dataSource
      .getRepository(WebhookEndpoint)
      .createQueryBuilder('endpoint')
      .select([
        'endpoint.id',
        'endpoint.secretEncrypted',
        'endpoint.previousSecretEncrypted',
        'endpoint.previousSecretExpiresAt',
      ])
      .where('endpoint.id > :afterId', { afterId })
      .orderBy('endpoint.id', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** The endpoint's sealed secrets, its row locked until the caller's transaction ends; null when gone. */
  lockSealedSecrets(id: number, manager: EntityManager): Promise<SealedSecrets | null> {
    return manager
      .getRepository(WebhookEndpoint)
      .createQueryBuilder('endpoint')
      .select([
        'endpoint.id',
        'endpoint.secretEncrypted',
        'endpoint.previousSecretEncrypted',
        'endpoint.previousSecretExpiresAt',
      ])
      .setLock('pessimistic_write')
      .where('endpoint.id = :id', { id })
      .getOne();
  }

  /** The same secrets sealed anew; `updated_at` left alone (nothing the owner sees changed). */
  async resealSecrets(
    id: number,
    sealed: Pick<SealedSecrets, 'secretEncrypted' | 'previousSecretEncrypted'>,
    manager: EntityManager,
  ): Promise<void> {
    await manager.query(
      `UPDATE webhook_endpoints SET secret_encrypted = $2, previous_secret_encrypted = $3
       WHERE id = $1`,
      [id, sealed.secretEncrypted, sealed.previousSecretEncrypted],
    );
  }
}
