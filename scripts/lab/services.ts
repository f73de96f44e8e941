// The lab's public services, each a process inside its own namespace: the gridledger server
// (signaling/start.ts: app + signaling) and Debian's coturn as STUN and TURN. They can be
// stopped and started again (the drills). Called by scripts/lab/lab.ts and tests/e2e/lab.e2e.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from '../../signaling/build.js';
import type { HomePlan, LabPlan } from './topology.js';

export const TURN_USER = 'grid';
export const TURN_SECRET = 'lab-secret';

/** A long-running process in a namespace, with its output kept for waiting and for errors. */
export class NsProcess {
  #child: ChildProcess | null = null;
  log = '';

  constructor(
    readonly name: string,
    private readonly ns: string,
    private readonly cmd: string,
    private readonly args: string[],
    private readonly env: Record<string, string> = {},
    private readonly ready: RegExp,
  ) {}

  /** Starts it and resolves when its output matches `ready`. */
  async start(timeout_ms = 30_000): Promise<void> {
    if (this.#child) throw new Error(`${this.name} is running`);
    this.log = '';
    // `ip netns exec` execs the command, so the child's pid is the service's own.
    const child = spawn('ip', ['netns', 'exec', this.ns, this.cmd, ...this.args], { cwd: root, env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const append = (d: Buffer) => {
      this.log = (this.log + String(d)).slice(-400_000);
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${this.name} did not start in ${timeout_ms} ms:\n${this.log.slice(-2000)}`)), timeout_ms);
      const poll = setInterval(() => {
        if (this.ready.test(this.log)) done(null);
      }, 100);
      const onExit = (code: number | null) => done(new Error(`${this.name} exited (${code}) while starting:\n${this.log.slice(-2000)}`));
      child.once('exit', onExit);
      const done = (err: Error | null) => {
        clearTimeout(timer);
        clearInterval(poll);
        child.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
    });
    child.once('exit', () => {
      if (this.#child === child) this.#child = null;
    });
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves once it has exited. */
  async stop(grace_ms = 3000): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) {
      this.#child = null;
      return;
    }
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), grace_ms);
    await exited;
    clearTimeout(timer);
    this.#child = null;
  }

  /** Ends it at once (the exit-time cleanup, which cannot wait). */
  kill(): void {
    this.#child?.kill('SIGKILL');
    this.#child = null;
  }

  get running(): boolean {
    return this.#child !== null;
  }
}

export function iceServers(plan: LabPlan): { urls: string; username?: string; credential?: string }[] {
  const { address, port } = plan.turn;
  return [
    { urls: `stun:${address}:${port}` },
    { urls: `turn:${address}:${port}?transport=udp`, username: TURN_USER, credential: TURN_SECRET },
  ];
}

export function coturn(plan: LabPlan, workDir: string): NsProcess {
  const { address, port } = plan.turn;
  return new NsProcess('coturn', plan.turn.ns, '/usr/bin/turnserver', [
    '-n', '--no-cli', '--no-tls', '--no-dtls', `--listening-ip=${address}`, `--relay-ip=${address}`, `--listening-port=${port}`,
    '--min-port=49152', '--max-port=65535', '--lt-cred-mech', `--user=${TURN_USER}:${TURN_SECRET}`, '--realm=gridledger-lab',
    ...(process.env.LAB_TURN_VERBOSE ? ['--verbose'] : []), '--no-multicast-peers', '--log-file=stdout', '--simple-log', `--pidfile=${join(workDir, 'turnserver.pid')}`,
  ], {}, /listener opened|Total General servers/i);
}

/**
 * `npm start`'s entry in the server's namespace, with the lab's coturn as ICE servers. It
 * serves the test build: the lab's WAN delay and drills use the nodes' test controls.
 */
export function gridServer(plan: LabPlan, relayOnly = false): NsProcess {
  return new NsProcess('server', plan.server.ns, process.execPath, ['--import', 'tsx', 'signaling/start.ts'], {
    PORT: String(plan.server.port),
    HOST: plan.server.address,
    ICE_SERVERS: JSON.stringify(iceServers(plan)),
    LOOPBACK_ONLY: '0',
    ICE_TRANSPORT_POLICY: relayOnly ? 'relay' : 'all',
    GRIDLEDGER_TEST_BUILD: '1',
  }, /gridledger is up/);
}

export function serverOrigin(plan: LabPlan): string {
  return `http://${plan.server.address}:${plan.server.port}`;
}

/** A directory for this run's wrappers and pid files, removed by the returned function. */
export function workDir(plan: LabPlan): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `${plan.prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The executable Playwright launches for a home: Debian's Chromium inside the home's
 * namespace. `ip netns exec` keeps the file descriptors, so Playwright's pipe transport
 * (fds 3 and 4) reaches the browser unchanged.
 */
export function chromiumWrapper(dir: string, home: HomePlan, chromium = '/usr/bin/chromium'): string {
  const path = join(dir, `chromium-h${home.n}`);
  writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${home.ns} ${chromium} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}
