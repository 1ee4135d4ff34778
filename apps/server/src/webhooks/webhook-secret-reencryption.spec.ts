import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { TokenCipher } from '@app/common';
import { useTestDatabase } from '../../../../test/support/database.js';
import { insertEndpoint } from '../../../../test/factories/webhook-rows.factory.js';
import { secretContext } from './webhook-endpoints.service.js';
import { reencryptWebhookSecrets } from './webhook-secret-reencryption.js';
import { newWebhookSecret } from './webhook-signature.js';

describe('reencryptWebhookSecrets', () => {
  const { dataSource, newUser } = useTestDatabase();
  const [keyA, keyB] = [randomBytes(32), randomBytes(32)];

  const sealedOf = async (id: number) =>
    (
      await dataSource.query(
        'SELECT secret_encrypted, previous_secret_encrypted, updated_at FROM webhook_endpoints WHERE id = $1',
        [id],
      )
    )[0] as {
      secret_encrypted: string;
      previous_secret_encrypted: string | null;
      updated_at: Date;
    };

  it('seals current and previous secrets under the first key, leaving what it cannot open alone', async () => {
    const userId = await newUser();
    const old = new TokenCipher([keyA]);
    const [rotated, plain, foreign] = await Promise.all([
      insertEndpoint(dataSource, userId),
      insertEndpoint(dataSource, userId),
      insertEndpoint(dataSource, userId),
    ]);
    const secrets = { current: newWebhookSecret(), previous: newWebhookSecret() };
    await dataSource.query(
      `UPDATE webhook_endpoints SET secret_encrypted = $2, previous_secret_encrypted = $3,
         previous_secret_expires_at = now() + interval '1 day' WHERE id = $1`,
      [
        rotated,
        old.encrypt(secrets.current, secretContext(rotated, 'secret')),
        old.encrypt(secrets.previous, secretContext(rotated, 'previous_secret')),
      ],
    );
    await dataSource.query('UPDATE webhook_endpoints SET secret_encrypted = $2 WHERE id = $1', [
      plain,
      old.encrypt(secrets.current, secretContext(plain, 'secret')),
    ]);
    const before = await Promise.all([rotated, plain, foreign].map(sealedOf));

    const ring = new TokenCipher([keyB, keyA]);
    const result = await reencryptWebhookSecrets(dataSource, ring);
    // The factory's "not-sealed" secret opens with no key: reported, untouched.
    expect(result.unreadable).toContain(foreign);
    expect(result.unreadable).not.toContain(rotated);
    expect(result.unreadable).not.toContain(plain);

    const onlyB = new TokenCipher([keyB]);
    const [afterRotated, afterPlain, afterForeign] = await Promise.all(
      [rotated, plain, foreign].map(sealedOf),
    );
    expect(onlyB.decrypt(afterRotated.secret_encrypted, secretContext(rotated, 'secret'))).toBe(
      secrets.current,
    );
    expect(
      onlyB.decrypt(
        afterRotated.previous_secret_encrypted!,
        secretContext(rotated, 'previous_secret'),
      ),
    ).toBe(secrets.previous);
    expect(onlyB.decrypt(afterPlain.secret_encrypted, secretContext(plain, 'secret'))).toBe(
      secrets.current,
    );
    expect(afterPlain.previous_secret_encrypted).toBeNull();
    expect(afterForeign.secret_encrypted).toBe('not-sealed');
    expect([afterRotated, afterPlain].map((row) => row.updated_at)).toEqual(
      before.slice(0, 2).map((row) => row.updated_at),
    );

    // A second pass finds them current and rewrites nothing.
    const again = await reencryptWebhookSecrets(dataSource, ring);
    expect(again.unreadable).not.toContain(rotated);
    expect((await sealedOf(rotated)).secret_encrypted).toBe(afterRotated.secret_encrypted);
  });
});
