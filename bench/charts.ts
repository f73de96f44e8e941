// PNG charts of a benchmark run, drawn with uPlot (the app's chart library) in a headless
// page and screenshotted: throughput and latency against offered load, the latency
// distribution at the moderate load, and sync speed. `tsx bench/charts.ts [results.json]`
// redraws them from a saved run; grid-bench.ts calls renderCharts at its end.
import { chromium, type Browser } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, CHROMIUM_ARGS } from '../scripts/tabs.js';

export interface ChartInput {
  nodes: number;
  when: string;
  throughput: { offered: number; committed_tps: number; p50_ms: number | null; p99_ms: number | null }[];
  latency: { load_tps: number; cdf_ms?: (number | null)[] };
  sync?: { runs: { verification: string; tx_per_s: number; blocks: number; txs: number }[] } | null;
  crypto_bound_tps: number;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function renderCharts(browser: Browser, r: ChartInput, outDir: string, suffix = ''): Promise<string[]> {
  const page = await browser.newPage({ viewport: { width: 760, height: 420 }, deviceScaleFactor: 1 });
  await page.setContent('<html><body style="margin:0;background:#fff;font:13px system-ui"></body></html>');
  await page.addStyleTag({ path: join(root, 'node_modules/uplot/dist/uPlot.min.css') });
  await page.addScriptTag({ path: join(root, 'node_modules/uplot/dist/uPlot.iife.min.js') });
  const written: string[] = [];
  const shoot = async (name: string, draw: string, arg: unknown) => {
    await page.evaluate(`document.body.innerHTML = '<div id="c" style="padding:12px;display:inline-block"></div>'`);
    await page.evaluate(`(${draw})(${JSON.stringify(arg)})`);
    const file = join(outDir, name.replace('.png', `${suffix}.png`));
    await page.locator('#c').screenshot({ path: file });
    written.push(file);
  };
  const off = r.throughput.map((t) => t.offered);
  await shoot(
    'throughput.png',
    `(a) => new uPlot({ title: a.title, width: 720, height: 360, legend: { live: false }, cursor: { show: false }, scales: { x: { time: false }, ms: {} },
      axes: [{ label: 'offered tx/s' }, { label: 'committed tx/s' }, { side: 1, scale: 'ms', label: 'latency ms', grid: { show: false } }],
      series: [{}, { label: 'committed tx/s', stroke: '#1f6feb', width: 2, points: { size: 7 } },
        { label: 'p50 ms', scale: 'ms', stroke: '#2da44e', width: 2, points: { size: 7 } },
        { label: 'p99 ms', scale: 'ms', stroke: '#cf222e', width: 2, dash: [6, 4], points: { size: 7 } }] },
      [a.x, a.c, a.p50, a.p99], document.getElementById('c'))`,
    {
      title: `${r.nodes} tabs: throughput and commit latency vs offered load`,
      x: off,
      c: r.throughput.map((t) => t.committed_tps),
      p50: r.throughput.map((t) => t.p50_ms),
      p99: r.throughput.map((t) => t.p99_ms),
    },
  );
  if (r.latency.cdf_ms) {
    await shoot(
      'latency-cdf.png',
      `(a) => new uPlot({ title: a.title, width: 720, height: 360, legend: { live: false }, cursor: { show: false }, scales: { x: { time: false } },
        axes: [{ label: 'percentile' }, { label: 'ms' }],
        series: [{}, { label: 'commit latency ms', stroke: '#8250df', width: 2, fill: 'rgba(130,80,223,0.08)' }] },
        [a.x, a.y], document.getElementById('c'))`,
      { title: `Commit latency distribution at ${r.latency.load_tps} tx/s`, x: r.latency.cdf_ms.map((_, i) => i), y: r.latency.cdf_ms },
    );
  }
  if (r.sync?.runs.length) {
    const bars = r.sync.runs.map((s) => ({ label: `${s.verification} verification`, v: s.tx_per_s }));
    bars.push({ label: 'target (full)', v: 8_000 }, { label: 'target (certificate)', v: 20_000 });
    await shoot(
      'sync.png',
      `(a) => { const max = Math.max(...a.bars.map((b) => b.v));
        document.getElementById('c').innerHTML = '<div style="font-weight:600;margin-bottom:10px">' + a.title + '</div>' +
          a.bars.map((b) => '<div style="display:flex;align-items:center;margin:6px 0"><div style="width:170px">' + b.label + '</div>' +
            '<div style="height:22px;width:' + Math.round(480 * b.v / max) + 'px;background:' + (b.label.startsWith('target') ? '#d0d7de' : '#1f6feb') + '"></div>' +
            '<div style="margin-left:8px">' + b.v.toLocaleString('en') + ' tx/s</div></div>').join(''); }`,
      { title: `Sync: a new tab catches up on ${r.sync.runs[0]!.blocks.toLocaleString('en')} blocks / ${r.sync.runs[0]!.txs.toLocaleString('en')} transactions from one peer`, bars },
    );
  }
  await page.close();
  return written;
}

/** How the grid grows with its tabs (bench/scale.ts): latency, memory and frames per block. */
export async function renderScaleChart(
  rows: { nodes: number; p50_ms: number | null; p99_ms: number | null; pss_mb_per_tab: number; frames_per_block: number; idle_cpu_pct_per_tab: number }[],
  file: string,
): Promise<void> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 760, height: 420 }, deviceScaleFactor: 1 });
    await page.setContent('<html><body style="margin:0;background:#fff;font:13px system-ui"><div id="c" style="padding:12px;display:inline-block"></div></body></html>');
    await page.addStyleTag({ path: join(root, 'node_modules/uplot/dist/uPlot.min.css') });
    await page.addScriptTag({ path: join(root, 'node_modules/uplot/dist/uPlot.iife.min.js') });
    await page.evaluate(
      `((a) => new uPlot({ title: 'One grid, more tabs: commit latency, memory per tab, frames per block', width: 720, height: 360, legend: { live: false }, cursor: { show: false },
        scales: { x: { time: false }, ms: {}, n: {} },
        axes: [{ label: 'tabs' }, { scale: 'ms', label: 'latency ms' }, { side: 1, scale: 'n', label: 'MB per tab · frames per block', grid: { show: false } }],
        series: [{}, { label: 'p50 ms', scale: 'ms', stroke: '#2da44e', width: 2, points: { size: 7 } },
          { label: 'p99 ms', scale: 'ms', stroke: '#cf222e', width: 2, dash: [6, 4], points: { size: 7 } },
          { label: 'PSS MB per tab', scale: 'n', stroke: '#1f6feb', width: 2, points: { size: 7 } },
          { label: 'frames per block', scale: 'n', stroke: '#8250df', width: 2, points: { size: 7 } }] },
        [a.x, a.p50, a.p99, a.pss, a.f], document.getElementById('c')))(${JSON.stringify({
          x: rows.map((r) => r.nodes),
          p50: rows.map((r) => r.p50_ms),
          p99: rows.map((r) => r.p99_ms),
          pss: rows.map((r) => r.pss_mb_per_tab),
          f: rows.map((r) => r.frames_per_block),
        })})`,
    );
    await page.locator('#c').screenshot({ path: file });
  } finally {
    await browser.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2] ?? join(root, 'bench-results', 'results.json');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const written = await renderCharts(browser, JSON.parse(readFileSync(file, 'utf8')) as ChartInput, dirname(file), file.includes('-quick') ? '-quick' : '');
    console.log(written.join('\n'));
  } finally {
    await browser.close();
  }
}
