import 'reflect-metadata';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import {
  type AppConfig,
  AppError,
  ConfigError,
  FieldValidationError,
  loadConfig,
  TokenCipher,
} from '@app/common';
import { dataSourceOptions, UserQueries } from '@app/database';
import { USERNAME_PATTERN } from './auth/dto/register.dto.js';
import { checkPassword } from './auth/password-policy.js';
import { createUserWithProfile } from './auth/user-accounts.js';
import { revertLastMigration, runMigrations } from './boot/migrate.js';
import { preflight, PreflightError } from './boot/preflight.js';
import { migrateMediaToS3 } from './media/media-migration.js';
import { describeStoreError } from './media/s3-media.storage.js';
import { reencryptAllTokens } from './scheduler/token-reencryption.js';
import { reencryptWebhookSecrets } from './webhooks/webhook-secret-reencryption.js';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  createsuperuser [--username U] [--email E] [--password P]
      Creates a staff superuser (AdminJS sign-in). Prompts for what is missing when run in a
      terminal; without a terminal every option is required. Django's password rules apply.
  migrate            Applies pending migrations.
  migrate:revert     Reverts the last applied migration.
  tokens:reencrypt   Seals every stored account token (and webhook secret) under the first key of
      TOKEN_ENCRYPTION_KEYS (rotation: put the new key first, run this, then drop the old key).
      Exits 1 when some account's tokens open with no key of the ring.
  media:migrate --to s3
      Copies every media file under MEDIA_ROOT to the S3-compatible store the S3_* settings name
      (same keys; files the store already has are skipped, so running it again finishes an
      interrupted copy). Then restart every process with MEDIA_STORAGE=s3. Exits 1 when a file
      could not be copied.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  await preflight(config);
  switch (command) {
    case 'migrate': {
      const ran = await runMigrations(config.database.url);
      process.stdout.write(
        ran.length ? `Applied: ${ran.join(', ')}\n` : 'No pending migrations.\n',
      );
      return 0;
    }
    case 'migrate:revert':
      await revertLastMigration(config.database.url);
      process.stdout.write('Reverted the last migration.\n');
      return 0;
    case 'createsuperuser':
      await runMigrations(config.database.url);
      return createSuperuser(config.database.url, rest);
    case 'tokens:reencrypt':
      return reencryptTokens(
        config.database.url,
        new TokenCipher(config.crypto.tokenEncryptionKeys),
      );
    case 'media:migrate':
      return migrateMedia(config, rest);
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

async function createSuperuser(databaseUrl: string, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      username: { type: 'string' },
      email: { type: 'string' },
      password: { type: 'string' },
    },
    strict: true,
  });
  const input = await completeInteractively(values);
  const errors: Record<string, string[]> = {};
  if (!USERNAME_PATTERN.test(input.username) || input.username.length > 150) {
    errors.username = ['Letters, digits and @/./+/-/_ only, at most 150 characters.'];
  }
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(input.email) || input.email.length > 254)
    errors.email = ['Enter a valid email address.'];
  const passwordProblems = checkPassword(input.password, {
    username: input.username,
    email: input.email,
  });
  if (passwordProblems.length) errors.password = passwordProblems;
  if (Object.keys(errors).length) throw new FieldValidationError(errors);

  const dataSource = await new DataSource(dataSourceOptions(databaseUrl)).initialize();
  try {
    const users = new UserQueries(dataSource);
    await dataSource.transaction((manager) =>
      createUserWithProfile(users, { ...input, isStaff: true, isSuperuser: true }, manager),
    );
  } finally {
    await dataSource.destroy();
  }
  process.stdout.write(`Superuser "${input.username}" created.\n`);
  return 0;
}

async function migrateMedia(config: AppConfig, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { to: { type: 'string' } }, strict: true });
  if (values.to !== 's3') throw FieldValidationError.of('to', '--to s3 is the one destination.');
  if (!config.media.s3)
    throw FieldValidationError.of('S3_BUCKET', 'Set the S3_* settings of the destination store.');
  const settings = config.media.s3;
  process.stdout.write(
    `Copying the media under ${config.mediaRoot} to bucket "${settings.bucket}" at ${settings.endpoint ?? 'AWS S3'}...\n`,
  );
  let result;
  try {
    result = await migrateMediaToS3(config.mediaRoot, settings, (line) =>
      process.stdout.write(`${line}\n`),
    );
  } catch (error) {
    throw new PreflightError(
      `The media store is not usable: ${describeStoreError(settings, error)}.`,
    );
  }
  process.stdout.write(
    `Copied ${result.copied} file(s); ${result.present} were already in the store.\n`,
  );
  if (result.ignored.length > 0)
    process.stdout.write(
      `Left alone ${result.ignored.length} path(s) that are not media files (e.g. ${result.ignored[0]}).\n`,
    );
  for (const { key, reason } of result.failed)
    process.stderr.write(`Error: ${key} was not copied: ${reason}\n`);
  if (result.failed.length > 0) return 1;
  process.stdout.write('Done. Restart every process with MEDIA_STORAGE=s3.\n');
  return 0;
}

async function reencryptTokens(databaseUrl: string, cipher: TokenCipher): Promise<number> {
  const dataSource = await new DataSource(dataSourceOptions(databaseUrl)).initialize();
  try {
    const { resealed, current, unreadable } = await reencryptAllTokens(dataSource, cipher);
    process.stdout.write(
      `Re-encrypted the tokens of ${resealed} account(s); ${current} already used the first key.\n`,
    );
    // Webhook signing secrets are sealed with the same ring.
    const webhooks = await reencryptWebhookSecrets(dataSource, cipher);
    process.stdout.write(
      `Re-encrypted the secrets of ${webhooks.resealed} webhook endpoint(s); ${webhooks.current} already used the first key.\n`,
    );
    if (unreadable.length === 0 && webhooks.unreadable.length === 0) return 0;
    if (unreadable.length > 0)
      process.stderr.write(
        `Error: no key of the ring opens the tokens of account(s) ${unreadable.join(', ')}; they were left as they were.\n`,
      );
    if (webhooks.unreadable.length > 0)
      process.stderr.write(
        `Error: no key of the ring opens the secrets of webhook endpoint(s) ${webhooks.unreadable.join(', ')}; they were left as they were.\n`,
      );
    return 1;
  } finally {
    await dataSource.destroy();
  }
}

async function completeInteractively(values: {
  username?: string;
  email?: string;
  password?: string;
}) {
  const missing = (['username', 'email', 'password'] as const).filter((name) => !values[name]);
  if (missing.length === 0) return values as Required<typeof values>;
  if (!process.stdin.isTTY) {
    throw new FieldValidationError(
      Object.fromEntries(
        missing.map((name) => [name, [`--${name} is required when not run in a terminal.`]]),
      ),
    );
  }
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const username = values.username || (await prompt.question('Username: ')).trim();
    const email = values.email || (await prompt.question('Email address: ')).trim();
    let password = values.password;
    if (!password) {
      password = await askHidden(prompt, 'Password: ');
      if ((await askHidden(prompt, 'Password (again): ')) !== password) {
        throw FieldValidationError.of('password', "The two passwords didn't match.");
      }
    }
    return { username, email, password };
  } finally {
    prompt.close();
  }
}

/** Reads a line without echoing it: the typed characters are not written back. */
async function askHidden(
  prompt: ReturnType<typeof createInterface>,
  question: string,
): Promise<string> {
  const output = process.stdout;
  const write = output.write.bind(output);
  process.stdout.write(question);
  (output as { write: unknown }).write = () => true;
  try {
    return await prompt.question('');
  } finally {
    (output as { write: unknown }).write = write;
    write('\n');
  }
}

main(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    if (error instanceof FieldValidationError) {
      for (const [field, messages] of Object.entries(error.errors ?? {})) {
        process.stderr.write(`Error: ${field}: ${messages.join(' ')}\n`);
      }
    } else if (
      error instanceof ConfigError ||
      error instanceof PreflightError ||
      error instanceof AppError
    ) {
      process.stderr.write(`Error: ${error.message}\n`);
    } else if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) {
      // A mistyped option is a usage error (exit 2), not a crash with a stack trace.
      process.stderr.write(`Error: ${(error as Error).message}\n\n${USAGE}`);
      process.exit(2);
    } else {
      process.stderr.write(
        `Error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    process.exit(1);
  });
