// Display names on the chain: whether this build's transaction format carries them (admit
// with a name, rename), and a member's name as the views show it. Pure; views and desks call it.
import { checkBody } from '../core/tx.js';
import type { Member } from '../core/ledger.js';

/** True when `rename` is a transaction kind this code decodes (names are on the chain). */
export const NAMES_ON_CHAIN: boolean = (() => {
  try {
    checkBody({ v: 1, chain: new Uint8Array(32), kind: 'rename', from: '0'.repeat(40), seq: 0, name: 'x' });
    return true;
  } catch {
    return false;
  }
})();

/** The member's display name, or null when it has none. */
export function memberName(m: Member | undefined): string | null {
  const name = (m as (Member & { name?: unknown }) | undefined)?.name;
  return typeof name === 'string' && name.length > 0 ? name : null;
}

/** An admit's fields with the joiner's name, when the chain carries names and one was given. */
export function withName<T extends object>(fields: T, name: string | null | undefined): T {
  const n = name?.trim();
  return NAMES_ON_CHAIN && n ? { ...fields, name: n } : fields;
}
