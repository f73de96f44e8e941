// `npx tsx bench/empty-tab.ts [--tabs N]`: what Chromium alone costs per tab here — N browser
// contexts (as the benchmark opens them), each showing a one-line page, and the PSS of every
// renderer process (bench/proc.ts pssPerTab, the benchmark's own measure). The floor under the
// benchmark's memory figure: what is left above it is the app, the node and its peer links.
import { chromium } from 'playwright';
import { CHROMIUM, CHROMIUM_ARGS } from '../scripts/tabs.js';
import { pssPerTab } from './proc.js';

const i = process.argv.indexOf('--tabs');
const tabs = i > 0 ? Number(process.argv[i + 1]) : 10;
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
try {
  for (let t = 0; t < tabs; t++) {
    const page = await (await browser.newContext()).newPage();
    await page.goto('data:text/html,<p>an empty tab</p>');
  }
  await new Promise((r) => setTimeout(r, 2000));
  console.log(JSON.stringify({ empty_tabs: tabs, ...pssPerTab(tabs) }));
} finally {
  await browser.close();
}
