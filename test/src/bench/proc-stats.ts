// What a benchmark reads about processes from /proc (Linux): CPU time and peak resident memory.
import { readdir, readFile } from 'node:fs/promises';

/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const CLOCK_TICKS = 100;

/** CPU seconds (user + system) a process has used so far, from /proc; 0 where unreadable. */
export async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** CPU seconds of every process named `postgres` on this machine (server, backends, writers). */
export async function postgresCpuSeconds(): Promise<number> {
  let total = 0;
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'postgres') total += await cpuSeconds(Number(pid));
  }
  return total;
}

/** Where the CPU of one phase went, in microseconds per message or row. */
export interface CpuSplit {
  /** The bench process (raw phases, PGlite inside it) or the service's process (drains). */
  client: number;
  /** PostgreSQL's processes; 0 on PGlite, whose database is inside the client. */
  database: number;
  nats: number;
}

/** CPU seconds so far of the client, PostgreSQL (when `postgres`) and the NATS server. */
export async function cpuSample(
  postgres: boolean,
  clientPid: number,
  natsPid?: number,
): Promise<CpuSplit> {
  return {
    client: await cpuSeconds(clientPid),
    database: postgres ? await postgresCpuSeconds() : 0,
    nats: await cpuSeconds(natsPid),
  };
}

/** CPU microseconds per message between two samples. */
export function cpuPerMessage(a: CpuSplit, b: CpuSplit, n: number): CpuSplit {
  const us = (k: keyof CpuSplit) => ((b[k] - a[k]) * 1e6) / n;
  return { client: us('client'), database: us('database'), nats: us('nats') };
}

/** The highest resident memory a process has had (VmHWM), in MB. */
export async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** The middle value (the upper middle of an even count); 0 for none. */
export const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
