// What an invite link says, read on the page: its role and expiry, or that it is no invite.
// Pure (no signature check: the node does that against the grid's operator key).
import { decodeAnyInviteLink } from '../core/endorsed-invite.js';
import type { Role } from '../core/tx.js';
import { fromBase64url } from '../node/types.js';

export type InviteInfo = { ok: true; role: Role; expires_ms: number } | { ok: false; reason: string };

export function describeInvite(token: string): InviteInfo {
  try {
    const link = decodeAnyInviteLink(fromBase64url(token.trim()));
    return { ok: true, role: link.role, expires_ms: link.expires_ms };
  } catch {
    return { ok: false, reason: 'This invite link is damaged, or an old kind of link that can no longer be used: ask for a new one.' };
  }
}

/** The invite token in a link's fragment (#invite=…), if any. */
export function inviteOf(hash: string): string | null {
  return new URLSearchParams(hash.replace(/^#/, '')).get('invite');
}
