import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import {
  APP_CONFIG,
  type AppConfig,
  FieldValidationError,
  NotFoundError,
  TokenCipher,
} from '@app/common';
import { type SealedSecrets, WebhookEndpoint, WebhookEndpointQueries } from '@app/database';
import type { PageWindow } from '../http/pagination.js';
import type { CreateWebhookDto, UpdateWebhookDto } from './dto/webhook.dto.js';
import { newWebhookSecret } from './webhook-signature.js';
import {
  checkWebhookTarget,
  WebhookTargetRefused,
  type WebhookTargetPolicy,
} from './webhook-target.js';
import { WebhookLimitError } from './webhooks.errors.js';

/** api.md: at most 10 endpoints per user. */
export const MAX_ENDPOINTS_PER_USER = 10;
/** api.md: for 24 hours after a rotation both secrets sign. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

/** What a secret is sealed to: its row and field (moved elsewhere, it no longer opens). */
export const secretContext = (endpointId: number, field: 'secret' | 'previous_secret') =>
  `webhook_endpoints:${endpointId}:${field}`;

/** An endpoint with the secret just made, the one time it is shown. */
export interface EndpointWithSecret {
  endpoint: WebhookEndpoint;
  secret: string;
}

/** Webhook endpoints; the only place their secrets are sealed and opened. */
@Injectable()
export class WebhookEndpointsService {
  private readonly cipher: TokenCipher;
  readonly policy: WebhookTargetPolicy;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly rows: WebhookEndpointQueries,
  ) {
    this.cipher = new TokenCipher(config.crypto.tokenEncryptionKeys);
    this.policy = {
      httpsOnly: config.env === 'production',
      allowPrivateNetworks: config.webhooks.allowPrivateNetworks,
    };
  }

  list(userId: number, window: PageWindow): Promise<{ count: number; rows: WebhookEndpoint[] }> {
    return this.rows.pageOfUser(userId, window);
  }

  async get(
    userId: number,
    id: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<WebhookEndpoint> {
    const endpoint = await this.rows.findOwned(userId, id, manager);
    if (!endpoint) throw new NotFoundError('webhook');
    return endpoint;
  }

  /** The secret is sealed to the row, so the row comes first; both in one transaction. */
  async create(userId: number, dto: CreateWebhookDto): Promise<EndpointWithSecret> {
    const url = await this.checkedUrl(dto.url);
    const secret = newWebhookSecret();
    const endpoint = await this.dataSource.transaction(async (manager) => {
      if ((await this.rows.countOfUserLocked(userId, manager)) >= MAX_ENDPOINTS_PER_USER)
        throw new WebhookLimitError(MAX_ENDPOINTS_PER_USER);
      const id = await this.rows.insert(
        { userId, url, description: dto.description ?? '', events: dto.events ?? [] },
        manager,
      );
      await this.rows.change(
        userId,
        id,
        { secretEncrypted: this.cipher.encrypt(secret, secretContext(id, 'secret')) },
        manager,
      );
      return this.get(userId, id, manager);
    });
    return { endpoint, secret };
  }

  async update(userId: number, id: number, dto: UpdateWebhookDto): Promise<WebhookEndpoint> {
    await this.get(userId, id);
    const url = dto.url !== undefined ? await this.checkedUrl(dto.url) : undefined;
    return this.dataSource.transaction(async (manager) => {
      if (!(await this.rows.lockOwnedWithSecrets(userId, id, manager)))
        throw new NotFoundError('webhook');
      await this.rows.change(
        userId,
        id,
        {
          ...(url !== undefined ? { url } : {}),
          ...(dto.description !== undefined ? { description: dto.description } : {}),
          ...(dto.events !== undefined ? { events: dto.events } : {}),
          // Whoever switches it, the server's reason for turning it off no longer holds.
          ...(dto.is_active !== undefined ? { isActive: dto.is_active, disabledReason: null } : {}),
        },
        manager,
      );
      return this.get(userId, id, manager);
    });
  }

  async delete(userId: number, id: number): Promise<void> {
    if (!(await this.rows.delete(userId, id))) throw new NotFoundError('webhook');
  }

  /**
   * A new secret; the one it replaces keeps signing for ROTATION_OVERLAP_MS, so receivers can
   * switch without missing a delivery. A secret replaced earlier is forgotten.
   */
  async rotateSecret(userId: number, id: number): Promise<EndpointWithSecret> {
    const secret = newWebhookSecret();
    const endpoint = await this.dataSource.transaction(async (manager) => {
      const row = await this.rows.lockOwnedWithSecrets(userId, id, manager);
      if (!row) throw new NotFoundError('webhook');
      const current = this.cipher.decrypt(row.secretEncrypted, secretContext(id, 'secret'));
      await this.rows.change(
        userId,
        id,
        {
          secretEncrypted: this.cipher.encrypt(secret, secretContext(id, 'secret')),
          previousSecretEncrypted: this.cipher.encrypt(
            current,
            secretContext(id, 'previous_secret'),
          ),
          previousSecretExpiresAt: new Date(Date.now() + ROTATION_OVERLAP_MS),
        },
        manager,
      );
      return this.get(userId, id, manager);
    });
    return { endpoint, secret };
  }

  /** The secrets that sign now: the current one, and the replaced one during its overlap. */
  signingSecrets(sealed: SealedSecrets, now = new Date()): string[] {
    const secrets = [
      this.cipher.decrypt(sealed.secretEncrypted, secretContext(sealed.id, 'secret')),
    ];
    if (
      sealed.previousSecretEncrypted &&
      sealed.previousSecretExpiresAt &&
      sealed.previousSecretExpiresAt > now
    ) {
      secrets.push(
        this.cipher.decrypt(
          sealed.previousSecretEncrypted,
          secretContext(sealed.id, 'previous_secret'),
        ),
      );
    }
    return secrets;
  }

  /** The URL as stored, once its form and its host's addresses passed; else 400 naming `url`. */
  private async checkedUrl(raw: string): Promise<string> {
    try {
      return (await checkWebhookTarget(raw, this.policy)).url.href;
    } catch (error) {
      if (error instanceof WebhookTargetRefused)
        throw FieldValidationError.of('url', error.message);
      throw error;
    }
  }
}
