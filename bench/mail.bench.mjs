// Email: what a password reset request costs, for an address that has an account and for one
// that has none (the answer must not tell them apart, by content or by time), and how fast one
// worker process delivers mail to an SMTP server on loopback (a reset is two jobs on the `mail`
// queue: the lookup that issues the token, then the message). The SMTP server is `smtp-server`
// in this process, accepting everything.
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SMTPServer } from 'smtp-server';
import { request } from './lib/http.mjs';
import { median, percentile } from './lib/load.mjs';
import { machineLine, markdownTable, printTable } from './lib/report.mjs';

export const id = 'mail';
export const title = 'Email: password reset requests and delivery';

const USERS = Number(process.env.BENCH_MAIL_USERS ?? 300);
/** Requests timed, half for known addresses, half for unknown ones, alternating. */
const PROBES = Number(process.env.BENCH_MAIL_PROBES ?? 200);
const BURST_CONCURRENCY = 10;

async function startSmtp() {
  const received = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        received.push({ at: performance.now(), to: session.envelope.rcptTo[0]?.address });
        callback();
      });
    },
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${server.server.address().port}`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function waitForCount(received, count, timeoutMs = 120_000) {
  const deadline = performance.now() + timeoutMs;
  while (received.length < count) {
    if (performance.now() > deadline)
      throw new Error(`only ${received.length} of ${count} messages arrived`);
    await sleep(20);
  }
}

export async function run(ctx) {
  const loadBefore = os.loadavg()[0].toFixed(1);
  const smtp = await startSmtp();
  try {
    const app = await ctx.startApp('mail', {
      APP_ROLES: 'api,worker',
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Bench <bench@example.com>',
    });
    ctx.log(`registering ${USERS} users`);
    const users = [];
    for (let index = 0; index < USERS; index++) users.push((await ctx.registerUser(app)).user);
    const ask = async (email) => {
      const started = performance.now();
      const answer = await request(`${app.url}/api/auth/password-reset/`, {
        method: 'POST',
        body: { email },
      });
      if (answer.status !== 200) throw new Error(`password-reset answered ${answer.status}`);
      return performance.now() - started;
    };

    // One request at a time, known and unknown alternating, so both see the same conditions.
    const known = [];
    const unknown = [];
    for (let index = 0; index < PROBES; index++) {
      if (index % 2 === 0) known.push(await ask(users[index / 2].email));
      else unknown.push(await ask(`nobody_${index}_${Date.now()}@example.com`));
    }
    await waitForCount(smtp.received, known.length);
    ctx.log(
      `request: known ${median(known).toFixed(2)} ms, unknown ${median(unknown).toFixed(2)} ms (medians)`,
    );

    // A burst: the remaining users each ask once, BURST_CONCURRENCY at a time.
    const burst = users.slice(known.length);
    const before = smtp.received.length;
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: BURST_CONCURRENCY }, async () => {
        while (next < burst.length) await ask(burst[next++].email);
      }),
    );
    const answered = performance.now() - started;
    await waitForCount(smtp.received, before + burst.length);
    const delivered = smtp.received.at(-1).at - started;
    const perSecond = (burst.length / delivered) * 1000;
    ctx.log(`burst: ${burst.length} resets delivered in ${Math.round(delivered)} ms`);

    const loadAfter = os.loadavg()[0].toFixed(1);
    const header = ['Request for', 'median', 'p95', 'p99', 'requests'];
    const line = (name, values) => [
      name,
      `${median(values).toFixed(2)} ms`,
      `${percentile(values, 95).toFixed(2)} ms`,
      `${percentile(values, 99).toFixed(2)} ms`,
      String(values.length),
    ];
    const rows = [line('an address with an account', known), line('an address without', unknown)];
    printTable(header, rows);
    const markdown = [
      `### ${title}`,
      '',
      markdownTable(header, rows),
      '',
      `- \`POST /api/auth/password-reset/\`, one request at a time, known and unknown addresses alternating (${PROBES} in all), against the built app (\`NODE_ENV=production\`, roles api and worker in one process). The request only counts the address and queues a job; the account is looked up by the worker.`,
      `- Delivery: ${burst.length} users each asking once (${BURST_CONCURRENCY} requests at a time) were all answered in ${Math.round(answered).toLocaleString('en-US')} ms and their ${burst.length} messages all accepted by the SMTP server (loopback, \`smtp-server\`, no TLS) ${Math.round(delivered).toLocaleString('en-US')} ms after the first request: **${perSecond.toFixed(0)} reset mails/s** with one worker process (\`MAIL_WORKER_CONCURRENCY\` 5; each is two jobs, the lookup that issues the token and the message).`,
      '- Read the figures with the load average below: taken while other work shared the two CPUs, they are a floor. Each message opens its own SMTP connection (nodemailer without `pool`), which a pooled transport would save.',
      machineLine(ctx, { loadBefore, loadAfter }),
    ].join('\n');
    await app.stop();
    return {
      markdown,
      summary: {
        knownMedianMs: median(known),
        unknownMedianMs: median(unknown),
        burst: burst.length,
        deliveredMs: delivered,
        mailsPerSecond: perSecond,
      },
    };
  } finally {
    await smtp.close();
  }
}
