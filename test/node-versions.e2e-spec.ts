import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ROOT } from './support/spawn.js';

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

interface Manifest {
  engines?: { node?: string };
  packages?: Record<string, Manifest>;
}

const manifest = (file: string) => JSON.parse(read(file)) as Manifest;

/**
 * The Node.js versions a user is told to run (package.json, README), develops with (.nvmrc) and
 * deploys (Dockerfile) must not drift apart; .ci/run tests every major engines.node names.
 */
describe('Node.js versions', () => {
  it('states one range per supported major, in the form .ci/run tests each of', () => {
    const engines = manifest('package.json').engines?.node ?? '';
    const ranges = engines.split('||').map((range) => range.trim());
    expect(ranges.every((range) => /^\^\d+\.\d+\.\d+$/.test(range))).toBe(true);
    expect(ranges.map((range) => range.slice(1).split('.')[0])).toEqual(['22', '24']);
    // npm ci reads the root package's engines from the lockfile too.
    expect(manifest('package-lock.json').packages?.['']?.engines?.node).toBe(engines);
  });

  it('has .nvmrc and both Docker stages on the same supported major', () => {
    const nvmrc = read('.nvmrc').trim();
    const bases = [...read('Dockerfile').matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
    expect(nvmrc).toBe('24');
    expect(bases).toEqual([`node:${nvmrc}-bookworm-slim`, `node:${nvmrc}-bookworm-slim`]);
    expect(manifest('package.json').engines?.node).toContain(`^${nvmrc}.`);
  });
});
