// Display names on the chain as the node's views and desks use them: a member's name, and an
// admit's fields with the joiner's name when the ledger's rule takes it. Pure.
import { normalizeDisplayName } from '../core/names.js';
import type { Member } from '../core/ledger.js';

/** The member's display name, or null when it has none (members admitted before names). */
export function memberName(m: Member | undefined): string | null {
  return m?.name ? m.name : null;
}

/**
 * An admit's fields with the joiner's name, normalised as the signer must (a join request's
 * name is the requester's word: one the ledger's rule refuses is left out rather than making
 * the admit fail).
 */
export function withName<T extends object>(fields: T, name: string | null | undefined): T {
  const n = name ? normalizeDisplayName(name) : null;
  return n?.ok ? { ...fields, name: n.name } : fields;
}
