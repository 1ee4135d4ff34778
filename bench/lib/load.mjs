// Load generation with autocannon (in the runner's process, one worker), and the statistics.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

let ticksPerSecond;

/**
 * CPU time (user + system) a process has used, in seconds, from /proc/<pid>/stat; null where
 * there is no /proc. Per request, it is what a server costs whatever its latency; it grows on a
 * busy machine too, but the ratio between two servers measured one after the other holds.
 */
export function cpuSeconds(pid) {
  try {
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return null;
  }
}

/**
 * One autocannon run. Throws when any request failed or answered other than 2xx: a figure
 * made of errors measures nothing.
 */
export async function hit(url, { headers = {}, connections, duration, title, pid }) {
  const cpuBefore = pid ? cpuSeconds(pid) : null;
  const result = await autocannon({ url, headers, connections, duration, pipelining: 1, title });
  const cpuAfter = pid ? cpuSeconds(pid) : null;
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0) {
    throw new Error(
      `${title ?? url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts ` +
        `out of ${result.requests.total} (status codes ${JSON.stringify(result.statusCodeStats)})`,
    );
  }
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    mean: result.latency.average,
    total: result.requests.total,
    seconds: result.duration,
    /** Server CPU time per request, in microseconds (null without /proc or a pid). */
    cpuUs:
      cpuBefore === null || cpuAfter === null
        ? null
        : ((cpuAfter - cpuBefore) / result.requests.total) * 1e6,
  };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Measures each target `rounds` times, alternating in an A B B A A B ... order so that neither
 * always goes first while the machine drifts. Returns every run and the median of each figure.
 *
 * targets: { name: { url, headers, pid } }
 */
export async function alternate(targets, { rounds, connections, duration, onRun = () => {} }) {
  const names = Object.keys(targets);
  const runs = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const { url, headers, pid } = targets[name];
      const run = await hit(url, { headers, connections, duration, title: name, pid });
      runs[name].push(run);
      onRun(name, round + 1, run);
    }
  }
  const medians = Object.fromEntries(
    names.map((name) => [
      name,
      {
        rps: median(runs[name].map((run) => run.rps)),
        p50: median(runs[name].map((run) => run.p50)),
        p99: median(runs[name].map((run) => run.p99)),
        cpuUs: runs[name].some((run) => run.cpuUs === null)
          ? null
          : median(runs[name].map((run) => run.cpuUs)),
      },
    ]),
  );
  return { runs, medians };
}

/**
 * The median over rounds of `name`'s figure divided by `base`'s in the same round (the base's
 * divided by name's with invert): each round measures both one right after the other, so the
 * ratio cancels most of what other work on the machine does to both. Null if a figure is missing.
 */
export function pairedRatio(runs, name, base, figure, invert = false) {
  if (runs[name].some((run, i) => !run[figure] || !runs[base][i][figure])) return null;
  return median(
    runs[name].map((run, i) =>
      invert ? runs[base][i][figure] / run[figure] : run[figure] / runs[base][i][figure],
    ),
  );
}

/** Percentile (nearest rank) of a list of numbers. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}
