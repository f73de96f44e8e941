// What an invite link says, read on the page: its role and expiry, or that it is no invite.
// Pure (no signature check: the node does that against the grid's operator key).
import { decodeCanonical } from '../core/codec.js';
import { ROLES, type Role } from '../core/tx.js';
import { fromBase64url } from '../node/types.js';

export type InviteInfo = { ok: true; role: Role; expires_ms: number } | { ok: false; reason: string };

export function describeInvite(token: string): InviteInfo {
  let v: unknown;
  try {
    v = decodeCanonical(fromBase64url(token.trim()), 1024);
  } catch {
    return { ok: false, reason: 'This invite link is damaged: part of it is missing or changed.' };
  }
  const o = v as { role?: unknown; expires_ms?: unknown };
  if (typeof v !== 'object' || v === null || typeof o.expires_ms !== 'number' || !ROLES.includes(o.role as Role)) return { ok: false, reason: 'This link holds no invite.' };
  return { ok: true, role: o.role as Role, expires_ms: o.expires_ms };
}

/** The invite token in a link's fragment (#invite=…), if any. */
export function inviteOf(hash: string): string | null {
  return new URLSearchParams(hash.replace(/^#/, '')).get('invite');
}
