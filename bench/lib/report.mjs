// docs/benchmarks.md: each benchmark owns one section between its markers; the rest of the file
// (the how-to) is hand-written and left alone. The file is formatted with the repository's
// Prettier settings, so `prettier --check .` stays clean after a run.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import * as prettier from 'prettier';

const SKELETON = '# Benchmarks\n\nRun them with `npm run bench`.\n';

/** The commit measured, and whether the app's sources differ from it. */
function commit() {
  try {
    const git = (...args) => execFileSync('git', args, { encoding: 'utf8' }).trim();
    const head = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'apps', 'libs') !== '';
    return dirty ? `${head} with uncommitted changes` : head;
  } catch {
    return 'unknown';
  }
}

/** The CPU's name, with its family and model from /proc/cpuinfo (why: docs/decisions.md). */
function cpuModel() {
  const name = os.cpus()[0]?.model?.trim() ?? 'unknown';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (key) => info.match(new RegExp(`^${key}\\s*:\\s*(\\S+)`, 'm'))?.[1];
    const family = field('cpu family');
    const model = field('model');
    return family && model ? `${name}, family ${family} model ${model}` : name;
  } catch {
    return name;
  }
}

export function machineInfo(extra = {}) {
  return {
    cpus: os.availableParallelism(),
    cpuModel: cpuModel(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    /** Other work on the machine skews every figure: the 1-minute load average, at start. */
    loadAverage: os.loadavg()[0].toFixed(1),
    commit: commit(),
    ...extra,
  };
}

function markers(id) {
  return [`<!-- bench:${id}:start -->`, `<!-- bench:${id}:end -->`];
}

/** Replaces the benchmark's section (or appends it) and formats the file. */
export async function writeSection(docPath, id, markdown) {
  const [start, end] = markers(id);
  let text = existsSync(docPath) ? await readFile(docPath, 'utf8') : SKELETON;
  const block = `${start}\n\n${markdown.trim()}\n\n${end}`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from !== -1 && to > from) {
    text = text.slice(0, from) + block + text.slice(to + end.length);
  } else {
    text = `${text.trimEnd()}\n\n${block}\n`;
  }
  const options = (await prettier.resolveConfig(docPath)) ?? {};
  await writeFile(docPath, await prettier.format(text, { ...options, filepath: docPath }));
}

/** A Markdown table; Prettier aligns it when the file is written. */
export function markdownTable(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The same table for the terminal. */
export function printTable(header, rows) {
  const widths = header.map((title, i) =>
    Math.max(String(title).length, ...rows.map((row) => String(row[i]).length)),
  );
  const line = (cells) => cells.map((cell, i) => String(cell).padStart(widths[i])).join('  ');
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(line(row));
}

/** How the tables write figures. */
export const fmt = {
  rps: (value) => Math.round(value).toLocaleString('en-US'),
  int: (value) => Math.round(value).toLocaleString('en-US'),
  ms: (value) => `${value} ms`,
  ms1: (value) =>
    value === null || value === undefined
      ? 'n/a'
      : `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`,
  ratio: (value) => (value === null || value === undefined ? 'n/a' : value.toFixed(2)),
  cpu: (us) =>
    us === null || us === undefined ? 'n/a' : `${Math.round(us).toLocaleString('en-US')} µs`,
};

/** The machine line every section ends with (load averages from os.loadavg()[0]). */
export function machineLine(ctx, { loadBefore, loadAfter }) {
  const { machine } = ctx;
  return (
    `- Machine: ${machine.cpus} CPUs (\`nproc\`, ${machine.cpuModel}), ${machine.memoryGiB} GiB, ` +
    `Node ${machine.node}, PostgreSQL ${ctx.postgresVersion}, ${machine.platform}; ` +
    `run on ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}, code at ${machine.commit}. ` +
    `Load generator, servers and PostgreSQL share these CPUs; ` +
    `1-minute load average ${loadBefore} before this benchmark, ${loadAfter} after it.`
  );
}
