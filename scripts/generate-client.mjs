/** `npm run client:generate`: writes clients/typescript/schema.d.ts from the built server. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { documentFromBuild, renderSchemaTypes, SCHEMA_TYPES_PATH } from './openapi-client.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const document = await documentFromBuild(path.join(root, 'dist'));
await writeFile(path.join(root, SCHEMA_TYPES_PATH), await renderSchemaTypes(document));
process.stdout.write(`wrote ${SCHEMA_TYPES_PATH} (${Object.keys(document.paths).length} paths)\n`);
