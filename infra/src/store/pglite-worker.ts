import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { CREATE_PGLITE, initDataDir, PGLITE_MODULE, PGLITE_SETTINGS } from './pglite-data-dir.js';

/**
 * PGlite in a worker thread of its own.
 *
 * PGlite is PostgreSQL compiled to WebAssembly: in the calling thread, every statement blocks
 * the event loop (NATS, HTTP, timers) while it runs, and the process uses one core. In a worker
 * the database works on its own core while the main thread receives, parses and acks the next
 * batch, as it would with a PostgreSQL server.
 *
 * The worker runs one request at a time, in the order they were sent. Its source is plain
 * CommonJS evaluated by `worker_threads`, so it runs the same from `src` (tests) and `dist`.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pglite);
const FIELDS = ['code', 'severity', 'detail', 'hint', 'position', 'where', 'schema', 'table',
  'column', 'dataType', 'constraint', 'routine'];
function plain(e) {
  const out = { name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e) };
  if (e && typeof e === 'object') for (const f of FIELDS) if (e[f] !== undefined) out[f] = e[f];
  return out;
}
const { dir, settings } = workerData;
const opening = ${CREATE_PGLITE};
opening.catch(() => undefined); // reported to every request below
let db;
let chain = Promise.resolve();
async function handle({ id, op, text, params, begin }) {
  try {
    db ??= await opening; // if the open failed, every request gets its error
    if (begin) await db.exec('BEGIN');
    let result;
    if (op === 'query') {
      const r = await db.query(text, params);
      // Rows returned or changed, whichever there are, as node-postgres counts them.
      result = { rows: r.rows, rowCount: Math.max(r.affectedRows ?? 0, r.rows.length) };
    } else if (op === 'exec') {
      await db.exec(text);
    } else if (op === 'close') {
      if (!db.closed) await db.close();
    }
    parentPort.postMessage({ id, ok: true, result });
  } catch (e) {
    parentPort.postMessage({ id, ok: false, error: plain(e) });
  }
}
parentPort.on('message', (m) => { chain = chain.then(() => handle(m), () => handle(m)); });
`;

/**
 * The worker's young generation, in MB. What it allocates is short-lived (a statement's
 * parameters and the wire messages around it); V8's default lets it grow to 48 MB of heap that
 * a drain keeps resident for nothing.
 */
const WORKER_YOUNG_GENERATION_MB = 4;

/**
 * How far V8 lets a heap grow past what was live at its last full collection, in percent
 * (default: up to 300% for a heap that allocates fast, as a drain does). A process with PGlite
 * has two heaps, the service's and the worker's, beside the database: with the default, a drain
 * of a large backlog took it from 230 MB to about 380 MB resident, garbage for the most part.
 */
const HEAP_GROWING_PERCENT = 10;

/**
 * How many of PGlite's functions V8 optimizes at once (default: one per core of its thread pool).
 * As a drain starts, V8 recompiles PostgreSQL's hottest functions with its optimizing compiler,
 * each in tens of MB of scratch memory that the C allocator keeps afterwards: several at once
 * made a service's peak RSS vary by 40 MB from run to run. One at a time optimizes the same
 * functions, a little later.
 */
const WASM_COMPILATION_TASKS = 1;

let processBounded = false;
/**
 * Process-wide flags, set before the first PGlite compiles: V8 reads them at every full
 * collection and every compilation, so they also hold the service's own heap.
 */
function boundProcessMemory() {
  if (processBounded) return;
  processBounded = true;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  setFlagsFromString(`--wasm-num-compilation-tasks=${WASM_COMPILATION_TASKS}`);
}

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

/** An error raised by the database in the worker, with PostgreSQL's fields (`code`, …). */
export class PgliteError extends Error {
  code?: string;
  detail?: string;
  constraint?: string;
}

/** `begin` opens a transaction first, saving a round trip for a transaction's first statement. */
type Request =
  | { op: 'query'; text: string; params?: unknown[]; begin?: boolean }
  | { op: 'exec'; text: string; begin?: boolean }
  | { op: 'close' }
  | { op: 'ping' };

type Reply =
  | { id: number; ok: true; result?: QueryResult<unknown> }
  | { id: number; ok: false; error: Record<string, string> & { name: string; message: string } };

/** The main thread's end of the worker: numbered requests, answered in order. */
export class PgliteWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<
    number,
    { resolve: (r: unknown) => void; reject: (e: Error) => void }
  >();
  #next = 1;
  #gone: Error | undefined;
  #closing = false;
  #lose!: (e: Error) => void;
  /**
   * Settles if the worker dies while open (not on close): the database is gone for good, every
   * later statement fails, and the service should exit to be restarted.
   */
  readonly lost = new Promise<Error>((resolve) => (this.#lose = resolve));

  private constructor(dir: string | undefined) {
    boundProcessMemory();
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { pglite: PGLITE_MODULE, dir, settings: PGLITE_SETTINGS },
      name: 'pglite',
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    this.#worker.unref(); // referenced only while a request is pending
    this.#worker.on('message', (reply: Reply) => this.#settle(reply));
    this.#worker.on('error', (e) => this.#fail(e));
    this.#worker.on('exit', (code) => this.#fail(new Error(`the PGlite worker exited (${code})`)));
  }

  /** Starts the worker and opens (or creates) the database in `dir`, in memory when absent. */
  static async open(dir: string | undefined): Promise<PgliteWorker> {
    if (dir) await initDataDir(dir);
    const w = new PgliteWorker(dir);
    try {
      await w.request({ op: 'ping' });
    } catch (e) {
      await w.abort(); // a database that cannot open leaves no thread behind
      throw e;
    }
    return w;
  }

  query<T>(text: string, params?: unknown[], begin = false): Promise<QueryResult<T>> {
    return this.request({ op: 'query', text, params, begin }) as Promise<QueryResult<T>>;
  }

  async exec(text: string, begin = false): Promise<void> {
    await this.request({ op: 'exec', text, begin });
  }

  /** Closes the database and ends the worker. */
  async close(): Promise<void> {
    if (this.#gone) return;
    this.#closing = true;
    await this.request({ op: 'close' });
    this.#gone = new Error('the PGlite store is closed');
    await this.#worker.terminate();
  }

  request(req: Request): Promise<unknown> {
    if (this.#gone) return Promise.reject(this.#gone);
    const id = this.#next++;
    if (this.#pending.size === 0) this.#worker.ref();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, ...req });
    });
  }

  #settle(reply: Reply) {
    const p = this.#pending.get(reply.id);
    if (!p) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (reply.ok) p.resolve(reply.result);
    else p.reject(Object.assign(new PgliteError(reply.error.message), reply.error));
  }

  /** Ends the worker at once, without closing the database, as a crash would. For tests. */
  async abort(): Promise<void> {
    await this.#worker.terminate();
  }

  #fail(e: Error) {
    if (!this.#gone && !this.#closing) this.#lose(e);
    this.#gone ??= e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }
}
