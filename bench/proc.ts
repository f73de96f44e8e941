// What the benchmarks read from /proc (Linux): the Chromium this process launched, its
// renderer processes (one per tab here, each holding the tab's page and its node's worker),
// their memory (PSS) and CPU time, and the machine's load average.
import { readdirSync, readFileSync } from 'node:fs';

export const TICKS_PER_S = 100; // USER_HZ on Linux

/** The 1, 5 and 15 minute load averages (other work on a shared machine shows here). */
export function loadavg(): number[] {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  } catch {
    return [];
  }
}

/**
 * PSS per tab, in MB: every renderer process of the benchmark's browser (the tabs' pages and
 * workers, and whatever other renderers Chromium runs — about two per tab here) summed and
 * divided by the open tabs, and the largest single renderer.
 */
export function pssPerTab(tabs: number): { mean_mb: number; max_mb: number; tabs: number; renderers: number; total_mb: number } {
  const procs = renderers(browserProcess());
  const mbs = procs.map((p) => pss_kb(p) / 1024);
  const total = mbs.reduce((a, b) => a + b, 0);
  return { mean_mb: Math.round(total / Math.max(1, tabs)), max_mb: Math.round(Math.max(0, ...mbs)), tabs, renderers: mbs.length, total_mb: Math.round(total) };
}

/** The Chromium this process launched (Playwright spawns it as our child). */
export function browserProcess(): number {
  const [pid] = browserProcesses();
  if (pid === undefined) throw new Error('cannot find the Chromium process this benchmark launched');
  return pid;
}

/** Every Chromium browser process this process launched (a persistent context is one more). */
export function browserProcesses(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (ppid === process.pid && cmd.includes('chrom') && !cmd.includes('--type=')) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a - b);
}

/** Every process's parent and command line, and whether a pid descends from `browserPid`. */
function processTree(browserPid: number): { cmds: [number, string][]; under: (pid: number) => boolean } {
  const parent = new Map<number, number>();
  const cmds: [number, string][] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      cmds.push([Number(d), readFileSync(`/proc/${d}/cmdline`, 'utf8')]);
    } catch {
      // gone meanwhile
    }
  }
  const under = (pid: number): boolean => {
    for (let p = parent.get(pid) ?? 0, i = 0; p > 1 && i < 20; p = parent.get(p) ?? 0, i++) if (p === browserPid) return true;
    return false;
  };
  return { cmds, under };
}

/** Renderer processes under the browser (one per tab here: every tab has its own context). */
export function renderers(browserPid: number): number[] {
  const { cmds, under } = processTree(browserPid);
  return cmds.filter(([pid, c]) => c.includes('--type=renderer') && under(pid)).map(([pid]) => pid);
}

export function pss_kb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function cpu_ticks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return 0;
  }
}


/**
 * CPU ticks (utime + stime) of the browsers' processes (one, or a persistent context's too) by kind — the renderers by thread
 * (`renderer:page`, `renderer:worker` = the node, `renderer:webrtc`, …), `browser` (UI/IO threads, IPC), the storage service (IndexedDB), the
 * network service (WebRTC's sockets run in the renderers; signaling's WebSocket here), `gpu`,
 * other utilities — and of this Node process (the load generator and the signaling server).
 */
export function cpuByKind(...browserPids: number[]): Record<string, number> {
  const out: Record<string, number> = { browser: 0, bench_node: cpu_ticks(process.pid) };
  for (const browserPid of browserPids) addKinds(browserPid, out);
  return out;
}

/** One browser's processes' ticks, added to `out` by kind (cpuByKind). */
function addKinds(browserPid: number, out: Record<string, number>): void {
  out['browser'] = (out['browser'] ?? 0) + cpu_ticks(browserPid);
  const { cmds, under } = processTree(browserPid);
  for (const [pid, c] of cmds) {
    if (pid === browserPid || !under(pid)) continue;
    const type = /--type=([a-z-]+)/.exec(c)?.[1] ?? 'other';
    const sub = /--utility-sub-type=([\w.]+)/.exec(c)?.[1] ?? '';
    if (type === 'renderer') {
      for (const [k, t] of Object.entries(rendererThreads(pid))) out[k] = (out[k] ?? 0) + t;
      continue;
    }
    const kind = type === 'utility' ? (sub.includes('Storage') ? 'storage' : sub.includes('Network') ? 'network' : 'utility') : type === 'gpu-process' ? 'gpu' : type;
    out[kind] = (out[kind] ?? 0) + cpu_ticks(pid);
  }
}

/**
 * A renderer's CPU ticks by thread: `page` (its main thread: the page, its UI, comlink's end),
 * `worker` (dedicated workers: the node), `webrtc` (WebRTC's network and worker threads),
 * `pool` (Chromium's thread pool) and `other` (compositor, IO, …). Thread names from /proc.
 */
function rendererThreads(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(f[11]) + Number(f[12]);
      const k = tid === String(pid) ? 'renderer:page' : name.startsWith('DedicatedWorker') ? 'renderer:worker' : name.startsWith('WebRTC') ? 'renderer:webrtc' : name.startsWith('ThreadPool') ? 'renderer:pool' : 'renderer:other';
      out[k] = (out[k] ?? 0) + ticks;
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Cores used per kind between two cpuByKind readings `elapsed_s` apart (and their total). */
export function coresUsed(before: Record<string, number>, after: Record<string, number>, elapsed_s: number): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const k of Object.keys(after)) {
    const c = Math.max(0, (after[k]! - (before[k] ?? 0)) / TICKS_PER_S / elapsed_s);
    out[k] = Math.round(c * 100) / 100;
    total += c;
  }
  out['total'] = Math.round(total * 100) / 100;
  return out;
}
