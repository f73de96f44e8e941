// Which node a tab opens (src/ui/slots.ts): the profile's node for the grid in the URL, the
// tab's own slot across reloads, a legacy sessionStorage slot taken into the book, a slot that
// never joined a grid reused only when free, and the profile's last node without a grid.
import { describe, expect, it } from 'vitest';
import { BOOK_KEY, chooseSlot, readBook, recordSlot, type KeyValue } from '../../src/ui/slots.js';

class Mem implements KeyValue {
  readonly m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
}

const G1 = 'a'.repeat(64);
const G2 = 'b'.repeat(64);
let n = 0;
const fresh = () => (++n).toString(16).padStart(16, '0');
const free = () => true;

describe('slot book', () => {
  it('a new profile gets a new slot; reopening the grid URL resumes it, with or without the grid in the URL', () => {
    const store = new Mem();
    const first = chooseSlot(readBook(store), G1, null, fresh, free);
    expect(first).toMatchObject({ fresh: true, household: false });
    recordSlot(store, first.slot, G1, 1000);
    expect(chooseSlot(readBook(store), G1, null, fresh, free)).toEqual({ slot: first.slot, fresh: false, household: true });
    expect(chooseSlot(readBook(store), null, null, fresh, free)).toEqual({ slot: first.slot, fresh: false, household: true });
    // Another grid's link gets a node of its own; the profile's last node is then that one.
    const other = chooseSlot(readBook(store), G2, null, fresh, free);
    expect(other.fresh).toBe(true);
    recordSlot(store, other.slot, G2, 2000);
    expect(chooseSlot(readBook(store), G1, null, fresh, free).slot).toBe(first.slot);
    expect(chooseSlot(readBook(store), null, null, fresh, free).slot).toBe(other.slot);
  });

  it("a tab keeps its own slot across reloads, and a legacy tab's sessionStorage slot is taken in", () => {
    const store = new Mem();
    const legacy = '0123456789abcdef';
    expect(chooseSlot(readBook(store), G1, legacy, fresh, free)).toEqual({ slot: legacy, fresh: false, household: true });
    recordSlot(store, legacy, G1, 5);
    expect(readBook(store).slots[legacy]).toEqual({ grid: G1, used_ms: 5 });
    // The tab's slot does not follow it to another grid's link.
    expect(chooseSlot(readBook(store), G2, legacy, fresh, free).slot).not.toBe(legacy);
  });

  it('a slot that never joined a grid is reused for a link only when no tab runs it', () => {
    const store = new Mem();
    const blank = fresh();
    recordSlot(store, blank, null, 1);
    expect(chooseSlot(readBook(store), G1, null, fresh, free)).toEqual({ slot: blank, fresh: false, household: false });
    const busy = chooseSlot(readBook(store), G1, null, fresh, (s) => s !== blank);
    expect(busy.slot).not.toBe(blank);
    expect(busy.fresh).toBe(true);
  });

  it('a damaged book reads as empty; bad entries are dropped; the book is bounded', () => {
    const store = new Mem();
    store.setItem(BOOK_KEY, '{not json');
    expect(readBook(store)).toEqual({ v: 1, last: null, slots: {} });
    store.setItem(BOOK_KEY, JSON.stringify({ last: 'zz', slots: { zz: { grid: G1 }, '00000000000000aa': { grid: 'nope', used_ms: 3 } } }));
    expect(readBook(store)).toEqual({ v: 1, last: null, slots: { '00000000000000aa': { grid: null, used_ms: 3 } } });
    for (let i = 0; i < 40; i++) recordSlot(store, fresh(), G1, 100 + i);
    expect(Object.keys(readBook(store).slots)).toHaveLength(32);
  });
});
