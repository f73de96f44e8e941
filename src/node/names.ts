// Display names on the chain: whether this build's transaction format carries them (admit
// with a name, rename), and a member's name as the views show it. Pure; views and desks call it.
import { checkBody } from '../core/tx.js';
import type { Member } from '../core/ledger.js';

/** Whether the ledger's rule takes `name` as a display name (the decode check of a `rename`). */
function nameAccepted(name: string): boolean {
  try {
    checkBody({ v: 1, chain: new Uint8Array(32), kind: 'rename', from: '0'.repeat(40), seq: 0, name });
    return true;
  } catch {
    return false;
  }
}

/** True when `rename` is a transaction kind this code decodes (names are on the chain). */
export const NAMES_ON_CHAIN: boolean = nameAccepted('x');

/** The member's display name, or null when it has none. */
export function memberName(m: Member | undefined): string | null {
  const name = (m as (Member & { name?: unknown }) | undefined)?.name;
  return typeof name === 'string' && name.length > 0 ? name : null;
}

/**
 * An admit's fields with the joiner's name, when the chain carries names and the name passes
 * the ledger's rule (a join request's name is the requester's word: one the rule refuses is
 * left out rather than making the admit fail).
 */
export function withName<T extends object>(fields: T, name: string | null | undefined): T {
  const n = name?.normalize('NFC').trim();
  return NAMES_ON_CHAIN && n && nameAccepted(n) ? { ...fields, name: n } : fields;
}
