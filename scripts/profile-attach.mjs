#!/usr/bin/env node
/**
 * A CPU profile of a running Keel process for a while, e.g. the api/evaluator of `keel bench
 * slo-eval --mode distributed` during its ticks (whose processes are spawned by the bench, so
 * `--cpu-prof` cannot be given to them; Node refuses it in NODE_OPTIONS). Sends SIGUSR1 (Node
 * opens its inspector on 127.0.0.1:9229), profiles the main thread over the inspector protocol for
 * `seconds`, writes the profile and prints the top self-time functions.
 *
 *   node --experimental-websocket scripts/profile-attach.mjs <pid> <seconds> [out.cpuprofile]
 */
import { writeFileSync } from 'node:fs';
import { summarize } from './cpuprofile-summary.mjs';

const [pid, seconds, out] = process.argv.slice(2);
if (!pid || !seconds) throw new Error('usage: profile-attach.mjs <pid> <seconds> [out.cpuprofile]');
process.kill(Number(pid), 'SIGUSR1');
let target;
for (let i = 0; i < 50 && !target; i++) {
  await new Promise((r) => setTimeout(r, 200));
  target = await fetch('http://127.0.0.1:9229/json/list')
    .then((r) => r.json())
    .then((l) => l[0])
    .catch(() => undefined);
}
if (!target) throw new Error(`process ${pid} opened no inspector on 127.0.0.1:9229`);
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
let next = 1;
const pending = new Map();
ws.onmessage = (m) => {
  const msg = JSON.parse(m.data);
  if (msg.id && pending.has(msg.id)) pending.get(msg.id)(msg.result);
};
const send = (method, params = {}) =>
  new Promise((resolve) => {
    const id = next++;
    pending.set(id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });
await send('Profiler.enable');
await send('Profiler.setSamplingInterval', { interval: 1000 });
await send('Profiler.start');
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
const { profile } = await send('Profiler.stop');
ws.close();
if (out) writeFileSync(out, JSON.stringify(profile));
const s = summarize(profile, 25);
process.stdout.write(`process ${pid}, ${seconds} s: ${s.samples} samples, idle ${s.idle_pct} %, garbage collector ${s.gc_pct} %\n`);
for (const t of s.top_self) process.stdout.write(`  ${String(t.self_pct).padStart(5)} %  ${t.fn}\n`);
