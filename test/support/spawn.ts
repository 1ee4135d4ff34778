import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the built entry points are run from there, like `npm start` does. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The built entry points, inside dist/ (global-setup.mjs runs `nest build` before the tests). */
export const ENTRY = {
  server: 'apps/server/src/main.js',
  cli: 'apps/server/src/cli.js',
} as const;

let build: string | undefined;

/**
 * A private copy of dist/, taken once per test file: `nest build` empties dist/ first, so a
 * build started meanwhile by another `npm test` on this checkout would otherwise pull the files
 * from under the processes started here. Beside the copy, what Node needs to run it as in
 * place: package.json's `"type": "module"` and node_modules.
 */
async function builtCopy(): Promise<string> {
  if (build) return build;
  const dist = path.join(ROOT, 'dist');
  const deadline = Date.now() + 20_000;
  while (!Object.values(ENTRY).every((entry) => existsSync(path.join(dist, entry)))) {
    if (Date.now() > deadline) throw new Error(`${dist} has no build: run \`npm run build\``);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const copy = mkdtempSync(path.join(os.tmpdir(), 'ia-dist-'));
  cpSync(dist, copy, { recursive: true });
  writeFileSync(path.join(copy, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  build = copy;
  return copy;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** From spawn to exit. */
  ms: number;
}

const running = new Set<Spawned>();

/** A child `node` process with its output captured. */
export class Spawned {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private readonly started = Date.now();
  private exit: Exit | undefined;
  private readonly exited: Promise<Exit>;

  constructor(script: string, args: string[], env: Record<string, string>) {
    // A clean environment: nothing from the jest process (NODE_OPTIONS, a developer's secrets)
    // leaks into the child, so the child sees exactly what a user would have set.
    this.child = spawn(process.execPath, [script, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdin?.end();
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    running.add(this);
    this.exited = new Promise<Exit>((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('close', (code, signal) => {
        running.delete(this);
        this.exit = {
          code,
          signal,
          stdout: this.stdout,
          stderr: this.stderr,
          ms: Date.now() - this.started,
        };
        resolve(this.exit);
      });
    });
  }

  get isRunning(): boolean {
    return this.exit === undefined;
  }

  /** Resolves when the process ends; after timeoutMs it is killed and the promise rejects. */
  async waitForExit(timeoutMs: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill();
        reject(
          new Error(
            `process still running after ${timeoutMs} ms (killed)\n` +
              `stdout: ${this.stdout.slice(-2000)}\nstderr: ${this.stderr.slice(-2000)}`,
          ),
        );
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal` and waits for the exit; SIGKILL (and a rejection) after timeoutMs. */
  stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<Exit> {
    if (this.isRunning) this.child.kill(signal);
    return this.waitForExit(timeoutMs);
  }

  /** SIGKILL if still running; safe to call any number of times. */
  kill(): void {
    if (this.isRunning) this.child.kill('SIGKILL');
  }
}

/** Starts `node <entry> ...args` from the repository root; pair with killAll() in afterAll. */
export async function start(
  entry: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<Spawned> {
  return new Spawned(path.join(await builtCopy(), entry), args, env);
}

/** Runs `node <entry> ...args` to its end; killed when it outlives timeoutMs. */
export async function run(
  entry: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<Exit> {
  const child = await start(entry, args, env);
  try {
    return await child.waitForExit(timeoutMs);
  } finally {
    child.kill();
  }
}

/** For afterAll: kills every child still running, waits for them, removes the build copy. */
export async function killAll(): Promise<void> {
  const children = [...running];
  for (const child of children) child.kill();
  await Promise.allSettled(children.map((child) => child.waitForExit(5000)));
  if (build) rmSync(build, { recursive: true, force: true });
  build = undefined;
}

/** A TCP port nobody listens on right now: the system picks one for a throw-away listener. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Polls `probe` until it returns a value other than undefined; fails after timeoutMs, or as soon
 * as `child` (when given) has exited, with its output in the message.
 */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  child?: Spawned,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && !child.isRunning) {
      throw new Error(
        `process exited before it was ready\nstdout: ${child.stdout.slice(-2000)}\n` +
          `stderr: ${child.stderr.slice(-2000)}`,
      );
    }
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `not ready after ${timeoutMs} ms` +
          (child
            ? `\nstdout: ${child.stdout.slice(-2000)}\nstderr: ${child.stderr.slice(-2000)}`
            : ''),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** GET http://127.0.0.1:port/api/health: the status and the parsed body. */
export async function getHealth(port: number): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${port}/api/health`, {
    signal: AbortSignal.timeout(3000),
  });
  return { status: response.status, body: await response.json() };
}
