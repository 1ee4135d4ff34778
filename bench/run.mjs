// The benchmark runner: `npm run bench` (builds, then runs every bench/*.bench.mjs) or
// `node bench/run.mjs auth-me` (only those named; build first). Each benchmark module exports
// `id`, `title` and `run(ctx)`, which returns { markdown, summary }: the markdown replaces the
// benchmark's section of docs/benchmarks.md, the summary goes to bench/results/<id>.json.
// Every child process is stopped at the end, on failure too. See docs/benchmarks.md.
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stopAll } from './lib/children.mjs';
import { createContext } from './lib/context.mjs';
import { machineInfo, writeSection } from './lib/report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const docPath = path.join(root, 'docs/benchmarks.md');

async function loadBenchmarks(only) {
  const files = (await readdir(here)).filter((file) => file.endsWith('.bench.mjs')).sort();
  const modules = await Promise.all(
    files.map((file) => import(pathToFileURL(path.join(here, file)).href)),
  );
  const unknown = only.filter((name) => !modules.some((module) => module.id === name));
  if (unknown.length > 0) {
    throw new Error(
      `Unknown benchmark(s): ${unknown.join(', ')}; known: ${modules.map((m) => m.id).join(', ')}`,
    );
  }
  return only.length === 0 ? modules : modules.filter((module) => only.includes(module.id));
}

async function main() {
  const started = Date.now();
  const benchmarks = await loadBenchmarks(process.argv.slice(2));
  let current = 'runner';
  const log = (message) =>
    console.log(
      `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${current}: ${message}`,
    );
  const ctx = await createContext({ root, log });
  cleanup = () => ctx.cleanup();
  ctx.machine = machineInfo();
  log(
    `${benchmarks.length} benchmark(s); ${ctx.settings.connections} connections, ` +
      `${ctx.settings.duration} s runs, ${ctx.settings.rounds} rounds, ${ctx.settings.warmup} s warm-up`,
  );
  for (const benchmark of benchmarks) {
    current = benchmark.id;
    const { markdown, summary } = await benchmark.run(ctx);
    await stopAll();
    if (ctx.settings.writeDocs) {
      await writeSection(docPath, benchmark.id, markdown);
      log(`section written to ${path.relative(root, docPath)}`);
    } else {
      log(`docs/benchmarks.md left alone (profiling, a variant build, or BENCH_DOCS=0)`);
    }
    await writeFile(
      path.join(ctx.resultsDir, `${benchmark.id}.json`),
      `${JSON.stringify({ machine: ctx.machine, settings: ctx.settings, ...summary }, null, 2)}\n`,
    );
  }
  current = 'runner';
  log('done');
}

let failed = false;
let interrupted = false;
let cleanup = async () => {};
const interrupt = (signal) => {
  interrupted = true;
  console.error(`\n${signal}: stopping the servers`);
  stopAll()
    .then(() => cleanup())
    .catch(() => undefined)
    .finally(() => process.exit(130));
};
process.once('SIGINT', interrupt);
process.once('SIGTERM', interrupt);

try {
  await main();
} catch (error) {
  failed = true;
  if (!interrupted) console.error(`bench failed: ${error.stack ?? error.message}`);
} finally {
  await stopAll();
  await cleanup().catch((error) => console.error(`cleanup failed: ${error.message}`));
}
process.exit(failed ? 1 : 0);
