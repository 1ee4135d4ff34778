/**
 * `npm run openapi:lint`: Redocly's recommended rules (redocly.yaml) over the document the built
 * server serves. Exits non-zero on any error or warning.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { documentFromBuild } from './openapi-client.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'openapi-')), 'openapi.json');
writeFileSync(file, JSON.stringify(await documentFromBuild(path.join(root, 'dist'))));
execFileSync(
  path.join(root, 'node_modules/.bin/redocly'),
  ['lint', file, '--config', path.join(root, 'redocly.yaml'), '--max-problems', '1000'],
  {
    stdio: 'inherit',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  },
);
