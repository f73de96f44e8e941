// The V8 heap of every node worker in the browser, through the DevTools protocol (a worker has
// no `performance.memory`): what the nodes' own objects hold, beside the PSS of their
// processes (bench/proc.ts), which also counts the pages, WebRTC's buffers and the allocator.
import type { Browser, CDPSession } from 'playwright';

/** Used and reserved V8 heap of each dedicated worker, in MB, in target order. */
export async function workerHeapsMb(browser: Browser): Promise<{ used_mb: number; total_mb: number }[]> {
  const cdp = await browser.newBrowserCDPSession();
  try {
    const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string }[] };
    const out: { used_mb: number; total_mb: number }[] = [];
    for (const t of targetInfos.filter((x) => x.type === 'worker')) {
      const usage = await heapUsage(cdp, t.targetId).catch(() => null);
      if (usage) out.push({ used_mb: Math.round(usage.usedSize / 1e6), total_mb: Math.round(usage.totalSize / 1e6) });
    }
    return out;
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/** Runtime.getHeapUsage inside one target, over a non-flat session (Playwright's sessions are per page). */
async function heapUsage(cdp: CDPSession, targetId: string): Promise<{ usedSize: number; totalSize: number }> {
  const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: false })) as { sessionId: string };
  try {
    const answer = new Promise<{ usedSize: number; totalSize: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer')), 5000);
      const onMessage = (e: { sessionId?: string; message: string }) => {
        if (e.sessionId !== sessionId) return;
        const m = JSON.parse(e.message) as { id?: number; result?: { usedSize: number; totalSize: number } };
        if (m.id !== 1) return;
        clearTimeout(timer);
        cdp.off('Target.receivedMessageFromTarget', onMessage);
        if (m.result) resolve(m.result);
        else reject(new Error('no heap usage'));
      };
      cdp.on('Target.receivedMessageFromTarget', onMessage);
    });
    await cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: 1, method: 'Runtime.getHeapUsage' }) });
    return await answer;
  } finally {
    await cdp.send('Target.detachFromTarget', { sessionId }).catch(() => {});
  }
}

/** Mean and largest of a list of heaps. */
export function heapSummary(heaps: { used_mb: number }[]): { workers: number; mean_mb: number | null; max_mb: number | null } {
  if (heaps.length === 0) return { workers: 0, mean_mb: null, max_mb: null };
  const used = heaps.map((h) => h.used_mb);
  return { workers: heaps.length, mean_mb: Math.round(used.reduce((a, b) => a + b, 0) / used.length), max_mb: Math.max(...used) };
}
