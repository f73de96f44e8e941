#!/usr/bin/env node
// `npx gridledger-verify`: the offline auditor's command (src/audit/cli.ts). In a clone it runs
// the TypeScript source through tsx (a dev dependency); where tsx is absent (the package
// installed from `npm pack`) it runs the bundle that `npm run build:verify` writes, which needs
// only the runtime dependencies (@noble/*, cborg) and Node >= 20.19.
import { existsSync } from 'node:fs';

const source = new URL('../src/audit/cli.ts', import.meta.url);
const bundle = new URL('../dist-verify/cli.js', import.meta.url);
let tsx = null;
if (existsSync(source)) {
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    tsx = null;
  }
}
if (tsx) {
  tsx.register();
  await import(source.href);
} else if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  process.stderr.write('gridledger-verify: neither tsx nor the bundle is here; run `npm run build:verify` first\n');
  process.exit(2);
}
