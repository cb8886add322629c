/**
 * `npm run bench [-- section …]`: the project's scoreboard. Every comparison is measured side by
 * side in this one run; results go to bench/results.json with the machine. Not a test: nothing
 * here passes or fails (goals are reported as met or MISSED). Sections: design, crypto, vault,
 * operator, scale, forgetting, endurance, vouch, posts, browser, cost, memory, schedule, live,
 * transparency, federation (all by default; `npm run bench` runs
 * inside `scripts/in-netns.sh` so the browser's traffic stays on loopback).
 */
import { loadThemis } from '../protocol/themis.ts';
import { save } from './lib.ts';

await loadThemis();
const SECTIONS: Record<string, () => Promise<unknown>> = {
  design: async () => (await import('./design.ts')).benchDesign(),
  crypto: async () => (await import('./crypto.ts')).benchCrypto(),
  vault: async () => (await import('./vault.ts')).benchVault(),
  operator: async () => (await import('./operator.ts')).benchOperator(),
  scale: async () => (await import('./scale.ts')).benchScale(),
  forgetting: async () => (await import('./forgetting.ts')).benchForgetting(),
  endurance: async () => (await import('./endurance.ts')).benchEndurance(),
  vouch: async () => (await import('./vouch.ts')).benchVouch(),
  posts: async () => (await import('./posts.ts')).benchPosts(),
  browser: async () => (await import('./browser.ts')).benchBrowser(),
  cost: async () => (await import('./cost.ts')).benchCost(),
  memory: async () => (await import('./memory.ts')).benchMemory(),
  schedule: async () => (await import('./schedule.ts')).benchSchedule(),
  live: async () => (await import('./live.ts')).benchLive(),
  transparency: async () => (await import('./transparency.ts')).benchTransparency(),
  federation: async () => (await import('./federation.ts')).benchFederation(),
};
const chosen = process.argv.slice(2).filter((a) => a in SECTIONS);
for (const name of chosen.length ? chosen : Object.keys(SECTIONS)) await SECTIONS[name]!();
save(new URL('./results.json', import.meta.url).pathname, chosen.length > 0);
