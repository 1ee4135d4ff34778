// A yardstick for the machine, measured in the same run as the figures it qualifies (why:
// docs/decisions.md, "Benchmark figures carry the machine they came from").
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const BODY = Buffer.alloc(16 * 1024, 7);
const CONNECTIONS = 50;
/** The first rounds of a process cost up to half as much again (compiling, heap growth). */
const WARM_UP_ROUNDS = 2;
const ROUNDS = 5;

/**
 * CPU time (user + system, this process) per node:http exchange of a 16 KB answer, client and
 * server both in this process, over 50 keep-alive connections: the shape of the burst's image
 * downloads. The median of five rounds of `exchanges`, after two warm-up rounds; from one run to
 * the next on the same machine it still varied from 98 to 181 µs (5 December).
 */
async function httpExchangeCpuMicros(exchanges = 5_000) {
  const server = http.createServer((_, response) => {
    response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': BODY.length });
    response.end(BODY);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const get = () =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', agent }, (response) => {
          response.on('data', () => {});
          response.on('end', resolve);
        })
        .on('error', reject);
    });
  const round = async (count) => {
    let started = 0;
    const before = process.cpuUsage();
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (started++ < count) await get();
      }),
    );
    const used = process.cpuUsage(before);
    return (used.user + used.system) / count;
  };
  try {
    const rounds = [];
    for (let i = 0; i < WARM_UP_ROUNDS + ROUNDS; i++) rounds.push(await round(exchanges));
    const measured = rounds.slice(WARM_UP_ROUNDS).sort((a, b) => a - b);
    return measured[Math.floor(ROUNDS / 2)];
  } finally {
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** The yardstick measured in a new process, so that it does not depend on what ran before it. */
export function httpExchangeCpuMicrosInNewProcess() {
  const output = execFileSync(process.execPath, [fileURLToPath(import.meta.url)], {
    encoding: 'utf8',
  });
  return Number(output.trim());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log((await httpExchangeCpuMicros()).toFixed(1));
}
