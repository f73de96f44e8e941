// The browser node, the network adapters and the UI stay in rooms a newcomer can read in one
// sitting: no file there grows past about 500 lines (the pure Raft core may, as etcd's does).
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '../../../src');
const MAX_LINES = 500;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('module size', () => {
  it(`no file in src/node, src/net or src/ui is longer than ${MAX_LINES} lines`, () => {
    const long = ['node', 'net', 'ui']
      .flatMap((d) => files(join(SRC, d)))
      .map((f) => ({ file: relative(SRC, f), lines: readFileSync(f, 'utf8').split('\n').length }))
      .filter((f) => f.lines > MAX_LINES);
    expect(long).toEqual([]);
  });
});
