/**
 * At most `size` renders at once in this process; the others wait their turn (first come,
 * first served). sharp runs on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says
 * otherwise), which the API also needs for files, DNS and crypto, and its pixels cost CPU the
 * event loop needs: a small cap leaves both, so ten edits at once queue here instead of slowing
 * every request.
 */
export class RenderSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running += 1;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      // The slot passes to the next in line without being released in between.
      if (next) next();
      else this.running -= 1;
    }
  }

  get busy(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }
}
