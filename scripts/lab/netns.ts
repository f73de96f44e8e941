// Thin wrappers over iproute2 and nftables for the lab (scripts/lab/): run a command in a
// network namespace, create and delete this run's namespaces. Called by topology.ts, services.ts.
// Every namespace the lab makes is named `gl<pid>-…`, so a run only ever deletes its own and
// those of lab runs whose process is gone; the machine's own interfaces are never touched.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Runs a command and returns its stdout; throws with its stderr on failure. */
export function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}) });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** `ip -n NS …`: iproute2 acting inside the namespace. */
export function ipIn(ns: string, ...args: string[]): string {
  return run('ip', ['-n', ns, ...args]);
}

/** Runs a program inside the namespace (`ip netns exec`). */
export function execIn(ns: string, cmd: string, args: string[], input?: string): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], input);
}

export function setSysctl(ns: string, key: string, value: string): void {
  execIn(ns, 'sh', ['-c', `echo ${value} > /proc/sys/${key.replaceAll('.', '/')}`]);
}

const PREFIX_RE = /^gl(\d+)-/;

export function listNamespaces(): string[] {
  return run('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0]!.trim())
    .filter(Boolean);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Ends what still runs inside a namespace (processes this lab started there), then deletes it. */
export function deleteNamespace(ns: string): void {
  let pids: number[] = [];
  try {
    pids = run('ip', ['netns', 'pids', ns]).split('\n').map(Number).filter((p) => p > 0);
  } catch {
    // already gone
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  try {
    run('ip', ['netns', 'del', ns]);
  } catch {
    // already gone
  }
}

/** Deletes namespaces left by lab runs whose process has died (a crash, a SIGKILL). */
export function removeStaleNamespaces(): string[] {
  const stale = listNamespaces().filter((ns) => {
    const m = PREFIX_RE.exec(ns);
    return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
  });
  for (const ns of stale) deleteNamespace(ns);
  return stale;
}

/**
 * Why the lab cannot run here, or null when it can: it needs root, iproute2, nftables,
 * coturn and Chromium, and the right to create a namespace (checked by making one).
 */
export function labUnavailable(): string | null {
  if (process.platform !== 'linux') return 'the lab needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the lab needs root (it creates network namespaces)';
  for (const [bin, pkg] of [['/usr/sbin/ip', 'iproute2'], ['/usr/sbin/nft', 'nftables'], ['/usr/bin/turnserver', 'coturn'], ['/usr/bin/chromium', 'chromium']] as const) {
    if (!existsSync(bin) && !existsSync(bin.replace('/usr/sbin/', '/sbin/'))) return `the lab needs ${bin} (apt-get install ${pkg})`;
  }
  const probe = `gl${process.pid}-probe`;
  try {
    run('ip', ['netns', 'add', probe]);
    execIn(probe, 'nft', ['-f', '-'], 'table ip probe {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n  masquerade fully-random\n }\n}\n');
  } catch (err) {
    return `network namespaces with nftables NAT are not available here: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    deleteNamespace(probe);
  }
  return null;
}
