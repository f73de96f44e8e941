// What the lab reports, as pure functions: the kind of path each pair of homes should take
// and did take, per-pair tables and percentiles. Called by scripts/lab/grid.ts and the tests.
import { whereIs, type LabPlan } from './topology.js';

/** A connection's path: both ends host (one LAN), any end relayed (TURN), else NAT-traversed (STUN). */
export type PathKind = 'host' | 'srflx' | 'relay';

export interface PairEnd {
  type: string;
  address: string;
  port: number;
}

export function pathKind(local: PairEnd, remote: PairEnd): PathKind {
  if (local.type === 'relay' || remote.type === 'relay') return 'relay';
  if (local.type === 'host' && remote.type === 'host') return 'host';
  return 'srflx'; // srflx or prflx (a peer-reflexive address learned from a check) on either end
}

/** The path a pair of homes must take in this lab: one LAN → host; a symmetric NAT → relay; else srflx. */
export function expectedKind(plan: LabPlan, a: number, b: number): PathKind {
  const ha = plan.homes[a - 1]!;
  const hb = plan.homes[b - 1]!;
  if (ha.router === hb.router) return 'host';
  if (ha.router.nat === 'symmetric' || hb.router.nat === 'symmetric') return 'relay';
  return 'srflx';
}

export interface PairReport {
  /** "h1-h4": lower home first. */
  pair: string;
  /** "local/remote" candidate types as the lower home sees them. */
  types: string;
  kind: PathKind;
  expected: PathKind;
  /** The selected pair's addresses, named by lab part (h3, r2-wan, turn). */
  path: string;
}

export interface HomePairs {
  n: number;
  pairs: { peer_home: number; local: PairEnd; remote: PairEnd }[];
}

/**
 * One row per pair of homes, from the lower home's view; pairs without a selected candidate
 * pair on either side are listed as missing. Addresses outside the lab are reported too.
 */
export function pairTable(plan: LabPlan, homes: HomePairs[]): { rows: PairReport[]; missing: string[]; outside: string[] } {
  const rows: PairReport[] = [];
  const missing: string[] = [];
  const outside: string[] = [];
  const n = plan.homes.length;
  for (const h of homes) {
    for (const p of h.pairs) {
      for (const end of [p.local, p.remote]) {
        if (whereIs(plan, end.address) === 'outside the lab') outside.push(`h${h.n}: ${end.type} ${end.address}`);
      }
    }
  }
  for (let a = 1; a <= n; a++) {
    for (let b = a + 1; b <= n; b++) {
      const seen = homes.find((h) => h.n === a)?.pairs.find((p) => p.peer_home === b);
      if (!seen) {
        missing.push(`h${a}-h${b}`);
        continue;
      }
      rows.push({
        pair: `h${a}-h${b}`,
        types: `${seen.local.type}/${seen.remote.type}`,
        kind: pathKind(seen.local, seen.remote),
        expected: expectedKind(plan, a, b),
        path: `${whereIs(plan, seen.local.address)}:${seen.local.port} ↔ ${whereIs(plan, seen.remote.address)}:${seen.remote.port}`,
      });
    }
  }
  return { rows, missing, outside };
}

export function kindCounts(rows: PairReport[]): Record<PathKind, number> {
  const out: Record<PathKind, number> = { host: 0, srflx: 0, relay: 0 };
  for (const r of rows) out[r.kind]++;
  return out;
}

/** Nearest-rank percentile of sorted numbers; null when empty. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
