// A flame graph in text: `node bench/lib/profile-tree.mjs <file.cpuprofile> [min-percent]`.
// Top-down, each line a frame ("package: function") with its callees, in % of the process's busy
// samples outside the boot (module loading and evaluation are left out). Frames of one name
// under one parent are merged; a chain of frames each passing almost all its time down is one
// line, `a › … › z`; lines under min-percent (default 2.5) are left out. The profiles come from
// BENCH_CPU_PROF=1 (bench/results/profiles/); any flame graph viewer opens the same files.
import { readFileSync } from 'node:fs';

const [file, minArg] = process.argv.slice(2);
if (!file)
  throw new Error('usage: node bench/lib/profile-tree.mjs <file.cpuprofile> [min-percent]');
const minPercent = Number(minArg ?? 2.5);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));

const selfTime = new Map();
profile.samples.forEach((id, i) =>
  selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
);
const inclusive = new Map();
(function total(id) {
  const node = nodes.get(id);
  let time = selfTime.get(id) ?? 0;
  for (const child of node.children ?? []) time += total(child);
  inclusive.set(id, time);
  return time;
})(profile.nodes[0].id);

const where = (url) => {
  if (!url) return 'native';
  const dependency = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1];
  if (url.startsWith('node:')) return url.replace('node:internal/', 'node:');
  const own = /dist\/(.*)\.js/.exec(url);
  return own ? own[1].split('/').at(-1) : url;
};
const label = (node) =>
  `${where(node.callFrame.url)}: ${node.callFrame.functionName || '(anonymous)'}`;

/** Frames of one label among `ids`, merged: [label, { time, children }], busiest first. */
function merged(ids) {
  const groups = new Map();
  for (const id of ids) {
    const node = nodes.get(id);
    const group = groups.get(label(node)) ?? { time: 0, children: [] };
    group.time += inclusive.get(id);
    group.children.push(...(node.children ?? []));
    groups.set(label(node), group);
  }
  return [...groups.entries()].sort((a, b) => b[1].time - a[1].time);
}

const root = profile.nodes[0];
const idle = [...nodes.values()]
  .filter((node) => node.callFrame.functionName === '(idle)')
  .reduce((sum, node) => sum + (selfTime.get(node.id) ?? 0), 0);
const boot = root.children.filter((id) => /modules\/|run_main/.test(label(nodes.get(id))));
const busy = inclusive.get(root.id) - idle - boot.reduce((sum, id) => sum + inclusive.get(id), 0);

const lines = [];
(function walk(ids, depth) {
  for (const [name, group] of merged(ids)) {
    const percent = (100 * group.time) / busy;
    if (percent < minPercent || name.endsWith('(idle)')) continue;
    const chain = [name];
    let children = group.children;
    for (;;) {
      const [next] = merged(children);
      if (!next || next[1].time < 0.97 * group.time) break;
      chain.push(next[0]);
      children = next[1].children;
    }
    const shown = chain.length > 3 ? [chain[0], '…', ...chain.slice(-2)] : chain;
    lines.push(`${'  '.repeat(depth)}${percent.toFixed(1).padStart(5)} %  ${shown.join(' › ')}`);
    if (depth < 8) walk(children, depth + 1);
  }
})(
  root.children.filter((id) => !boot.includes(id)),
  0,
);
console.log(lines.join('\n'));
