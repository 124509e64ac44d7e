import { spawn, spawnSync } from 'node:child_process';
import type { SpawnOptions } from 'node:child_process';
import { constants } from 'node:os';

/** How often a stopping group is checked for processes left. */
const POLL_MS = 100;

/**
 * A command run in a process group of its own, so that it can be stopped with everything it
 * started, including processes it put in groups of their own (as Turborepo does with tasks).
 */
export interface ProcessGroup {
  readonly pid: number;
  /** Resolves with the command's exit code (128 + signal number when a signal ended it). */
  readonly exited: Promise<number>;
  /**
   * Sends `signal` to the group and to the groups of every process below it, then waits until
   * none of them has a process left; after `timeoutMs`, SIGKILLs them and waits as long again.
   * Resolves true when they are all gone.
   */
  stop(signal: NodeJS.Signals, timeoutMs: number): Promise<boolean>;
}

export function spawnGroup(
  command: string,
  args: string[],
  opts: Omit<SpawnOptions, 'detached'>,
): ProcessGroup {
  const child = spawn(command, args, { ...opts, detached: true });
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)),
    );
  });
  const pid = child.pid;
  if (pid === undefined) {
    return { pid: -1, exited, stop: () => Promise.resolve(true) }; // it never started
  }
  return {
    pid,
    exited,
    async stop(signal, timeoutMs) {
      const groups = groupsUnder(pid);
      signalGroups(groups, signal);
      if (await emptied(groups, timeoutMs)) return true;
      // Children started since the first look belong to groups only visible now.
      for (const g of groupsUnder(pid)) groups.add(g);
      signalGroups(groups, 'SIGKILL');
      return emptied(groups, timeoutMs);
    },
  };
}

/**
 * The process group `pgid` and the groups of every process descended from one in it; never
 * the group of this process.
 */
function groupsUnder(pgid: number): Set<number> {
  const ps = spawnSync('ps', ['-A', '-o', 'pid=,ppid=,pgid='], { encoding: 'utf8' });
  const rows = (ps.stdout ?? '')
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((r): r is [number, number, number] => r.length === 3 && r.every(Number.isInteger));
  const groups = new Set([pgid]);
  const pids = new Set(rows.filter(([, , g]) => g === pgid).map(([p]) => p));
  for (let grown = true; grown;) {
    grown = false;
    for (const [p, parent, g] of rows) {
      if (!pids.has(p) && pids.has(parent)) {
        pids.add(p);
        groups.add(g);
        grown = true;
      }
    }
  }
  const own = rows.find(([p]) => p === process.pid)?.[2];
  if (own !== undefined) groups.delete(own);
  return groups;
}

function signalGroups(groups: Set<number>, signal: NodeJS.Signals): void {
  for (const g of groups) {
    try {
      process.kill(-g, signal);
    } catch {
      // ESRCH: that group has already gone.
    }
  }
}

function alive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True once none of the groups has a process left; false when `timeoutMs` passed first. */
async function emptied(groups: Set<number>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (![...groups].some(alive)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
