// Governance in words for the pages: the admission rule, a request's title and its outcome.
// Pure; the members page, the join page and the help page call it.
import type { GovernanceView, RequestView } from '../node/types.js';
import type { Fmt } from './format.js';

/** "3 of the voters (all of them while fewer than 3 vote)", "two thirds of the voters", "the operator". */
export function policyText(g: GovernanceView | null): string {
  if (!g || g.policy.kind === 'operator') return 'the operator';
  if ('m' in g.policy) return g.policy.m === 1 ? 'any one voter' : `${g.policy.m} of the voters (all of them while fewer than ${g.policy.m} vote)`;
  const [n, d] = g.policy.fraction;
  const words: Record<string, string> = { '1/2': 'half', '2/3': 'two thirds', '3/4': 'three quarters', '1/3': 'a third', '1/1': 'all' };
  return `${words[`${n}/${d}`] ?? `${n}/${d}`} of the voters`;
}

export function requestTitle(r: RequestView, f: Fmt): string {
  switch (r.kind) {
    case 'join':
      return `“${r.name ?? r.subject.slice(0, 8)}” asks to join as a ${r.role ?? 'member'}`;
    case 'remove':
      return `Remove ${f.name(r.subject)} from the grid`;
    case 'operator':
      return `Make key ${(r.pub ?? r.subject).slice(0, 12)}… the grid operator`;
  }
}

export function outcomeOf(r: RequestView): string {
  if (r.status === 'open') return '';
  if (r.status === 'rejected') return r.kind === 'operator' && r.objected.length === 0 ? 'void: the operator key changed meanwhile' : 'rejected';
  return r.kind === 'join' ? `admitted in block ${r.closed_height}` : r.kind === 'remove' ? `removed in block ${r.closed_height}` : `operator key changed in block ${r.closed_height}`;
}
