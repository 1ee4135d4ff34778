// Child processes of a benchmark run: started with their output in a log file, tracked, and all
// stopped at the end whatever happens (stopAll() in run.mjs's finally, and a SIGKILL on exit).
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from './http.mjs';

const running = new Set();

/** A port nobody listens on right now (the kernel's pick). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `node ...args` with stdout and stderr in logFile (emptied first). Resolves nothing: use
 * waitForHttp() to know when it serves. The child is killed by stopAll() if not stopped before.
 */
export function startNode(name, args, { env, logFile, cwd = process.cwd() }) {
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const handle = { name, child, logFile, exited: false, exitCode: null, signal: null };
  handle.exitedPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      handle.exited = true;
      handle.exitCode = code;
      handle.signal = signal;
      running.delete(handle);
      resolve();
    });
  });
  child.once('error', (error) => {
    handle.exited = true;
    handle.error = error;
    running.delete(handle);
  });
  running.add(handle);
  return handle;
}

/** SIGTERM, then SIGKILL if it has not exited within graceMs. */
export async function stop(handle, graceMs = 5000) {
  if (handle.exited || handle.child.exitCode !== null) return;
  handle.child.kill('SIGTERM');
  const exited = await Promise.race([
    handle.exitedPromise.then(() => true),
    sleep(graceMs).then(() => false),
  ]);
  if (!exited) {
    handle.child.kill('SIGKILL');
    await handle.exitedPromise;
  }
}

export async function stopAll() {
  await Promise.all([...running].map((handle) => stop(handle)));
}

// Last resort (an uncaught error, process.exit): no child outlives the runner.
process.on('exit', () => {
  for (const handle of running) handle.child.kill('SIGKILL');
});

/** Polls url until it answers `status`; fails early if the child exits. */
export async function waitForHttp(url, handle, { status = 200, timeoutMs = 60_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (handle.exited) {
      throw new Error(
        `${handle.name} exited (code ${handle.exitCode}, signal ${handle.signal}) before serving ${url}; see ${handle.logFile}`,
      );
    }
    try {
      const response = await request(url, { timeoutMs: 2000 });
      if (response.status === status) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error.code ?? error.message;
    }
    await sleep(200);
  }
  throw new Error(
    `${handle.name} did not serve ${url} within ${timeoutMs / 1000} s (${last}); see ${handle.logFile}`,
  );
}
