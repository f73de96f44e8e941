// Builds the app with Vite when its build is missing or older than the sources. Two builds:
// `dist/` (production, what `npm start` serves) and `dist-test/` (`vite build --mode test`:
// the same app whose worker also exposes the test controls of src/node/test-controls.ts;
// served to the Playwright tests, the benchmark and the drills only).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execSync } from 'node:child_process';

export const root = join(import.meta.dirname, '..');
export const dist = join(root, 'dist');
export const distTest = join(root, 'dist-test');

export type BuildKind = 'production' | 'test';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds `kind` if stale; returns the directory to serve. */
export function buildIfStale(kind: BuildKind = 'production'): string {
  const out = kind === 'test' ? distTest : dist;
  const builtAt = existsSync(join(out, 'index.html')) ? statSync(join(out, 'index.html')).mtimeMs : 0;
  const sourcesAt = Math.max(newestMtime(join(root, 'src')), statSync(join(root, 'index.html')).mtimeMs, statSync(join(root, 'vite.config.ts')).mtimeMs);
  if (builtAt < sourcesAt) {
    console.log(`building the app (vite build${kind === 'test' ? ' --mode test' : ''})…`);
    const mode = kind === 'test' ? ` --mode test --outDir ${out}` : '';
    execSync(`npx vite build --logLevel warn${mode}`, { cwd: root, stdio: 'inherit' });
  }
  return out;
}
