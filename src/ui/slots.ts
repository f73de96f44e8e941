// Which node a tab opens: the browser profile's book of node slots (localStorage), so that
// opening the grid's URL again resumes that profile's node. Pure over a Storage-like store;
// client.ts calls it. A slot names the node's IndexedDB database (`gridledger-<slot>`).
//
// Rules: a tab prefers the slot it ran last (sessionStorage survives its reloads, and a tab of
// the app from before this book kept its slot there: it is taken into the book); otherwise
// the slot the profile last used for the grid in the URL, else a slot that never joined a
// grid, else a new one; without a grid in the URL, the slot the profile used last.

export interface KeyValue {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export const BOOK_KEY = 'gridledger.slots';
/** The slot this tab ran last (sessionStorage): also where tabs kept it before the book. */
export const TAB_SLOT_KEY = 'gridledger.slot';
const SLOT_RE = /^[0-9a-f]{16}$/;
const GRID_RE = /^[0-9a-f]{64}$/;
/** Slots remembered per profile (a profile holds one household; a few more for other grids). */
const BOOK_MAX = 32;

interface SlotRecord {
  grid: string | null;
  used_ms: number;
}

export interface Book {
  v: 1;
  last: string | null;
  slots: Record<string, SlotRecord>;
}

export function readBook(store: KeyValue): Book {
  const empty: Book = { v: 1, last: null, slots: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(store.getItem(BOOK_KEY) ?? 'null');
  } catch {
    return empty;
  }
  if (typeof raw !== 'object' || raw === null) return empty;
  const r = raw as Partial<Book>;
  const slots: Record<string, SlotRecord> = {};
  for (const [slot, rec] of Object.entries(r.slots ?? {})) {
    if (!SLOT_RE.test(slot) || typeof rec !== 'object' || rec === null) continue;
    const grid = typeof rec.grid === 'string' && GRID_RE.test(rec.grid) ? rec.grid : null;
    slots[slot] = { grid, used_ms: Number.isFinite(rec.used_ms) ? rec.used_ms : 0 };
  }
  const last = typeof r.last === 'string' && slots[r.last] ? r.last : null;
  return { v: 1, last, slots };
}

export interface SlotChoice {
  slot: string;
  /** No node was kept under this slot: opening it creates one. */
  fresh: boolean;
  /** The slot is this profile's node for the grid asked for (or its last one): if another tab runs it, offer to take over or read it. */
  household: boolean;
}

/**
 * The slot a tab should open. `tabSlot` is sessionStorage's; `isFree` says whether no tab runs
 * a slot now (navigator.locks), so a slot that never joined a grid is not fought over.
 */
export function chooseSlot(book: Book, gridHint: string | null, tabSlot: string | null, newSlot: () => string, isFree: (slot: string) => boolean): SlotChoice {
  const hint = gridHint && GRID_RE.test(gridHint) ? gridHint : null;
  if (tabSlot && SLOT_RE.test(tabSlot)) {
    const rec = book.slots[tabSlot];
    if (!rec || !hint || rec.grid === null || rec.grid === hint) return { slot: tabSlot, fresh: false, household: true };
  }
  const byUse = Object.entries(book.slots).sort((a, b) => b[1].used_ms - a[1].used_ms);
  if (hint) {
    const mine = byUse.find(([, r]) => r.grid === hint);
    if (mine) return { slot: mine[0], fresh: false, household: true };
    const blank = byUse.find(([s, r]) => r.grid === null && isFree(s));
    if (blank) return { slot: blank[0], fresh: false, household: false };
  } else if (book.last) {
    return { slot: book.last, fresh: false, household: true };
  }
  return { slot: newSlot(), fresh: true, household: false };
}

/** Records that `slot` runs now (for `grid`, once known) and is the profile's last one. */
export function recordSlot(store: KeyValue, slot: string, grid: string | null, now_ms: number): void {
  const book = readBook(store);
  const prior = book.slots[slot];
  book.slots[slot] = { grid: grid && GRID_RE.test(grid) ? grid : (prior?.grid ?? null), used_ms: now_ms };
  book.last = slot;
  const kept = Object.entries(book.slots).sort((a, b) => b[1].used_ms - a[1].used_ms).slice(0, BOOK_MAX);
  book.slots = Object.fromEntries(kept);
  store.setItem(BOOK_KEY, JSON.stringify(book));
}
