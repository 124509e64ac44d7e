// Preloaded (node --import) into a process a benchmark runs: when it exits, it writes the CPU
// time it used (user and system, every thread, microseconds) to the file BENCH_CPU_FILE names.
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_CPU_FILE;
if (file) {
  process.on('exit', () => {
    const { userCPUTime, systemCPUTime } = process.resourceUsage();
    writeFileSync(file, String(userCPUTime + systemCPUTime));
  });
}
