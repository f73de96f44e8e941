// The e2e tests' view of scripts/tabs.ts, with the test server's base URL filled in.
import type { Browser } from '@playwright/test';
import * as tabs from '../../scripts/tabs.js';

export type { Tab } from '../../scripts/tabs.js';
export const { call, status, waitFor, heights, closeAll, joinRequestOf, isMemberRole } = tabs;
export const askToJoin = (browser: Browser, grid: string, role = 'prosumer', name?: string) => tabs.askToJoin(browser, '/', grid, role, name);
export const openTab = (browser: Browser, path: string) => tabs.openTab(browser, path);
export const createGrid = (browser: Browser) => tabs.createGrid(browser, '/');
export const inviteTab = (browser: Browser, operator: tabs.Tab, role = 'prosumer', name?: string) => tabs.inviteTab(browser, '/', operator, role, name);
export const buildGrid = (browser: Browser, n: number, opts: tabs.GridOptions = {}) => tabs.buildGrid(browser, '/', n, () => {}, opts);
