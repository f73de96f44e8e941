// Playwright: real Chromium from Debian, the real server (app + signaling) on loopback.
import { defineConfig } from '@playwright/test';
import { CHROMIUM, CHROMIUM_ARGS } from './scripts/tabs.js';

export const E2E_PORT = Number(process.env.E2E_PORT ?? 8391);

export default defineConfig({
  testDir: 'tests/e2e',
  testMatch: '**/*.e2e.ts',
  workers: 1,
  fullyParallel: false,
  timeout: 180_000,
  expect: { timeout: 30_000 },
  reporter: process.env.CI ? [['list']] : [['list']],
  retries: 0,
  use: {
    baseURL: `http://127.0.0.1:${E2E_PORT}`,
    launchOptions: {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
    },
    permissions: ['camera', 'microphone'],
  },
  webServer: {
    command: `tsx signaling/start.ts`,
    env: { PORT: String(E2E_PORT), HOST: '127.0.0.1', LOOPBACK_ONLY: '1', GRIDLEDGER_TEST_BUILD: '1' },
    url: `http://127.0.0.1:${E2E_PORT}/config.json`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'ignore',
  },
});
