/**
 * Self time per function of a V8 CPU profile (`.cpuprofile`, from `node --cpu-prof` or the
 * inspector's Profiler), for the profiling scripts: the top functions by share of the samples,
 * named with their file under dist/ and line, and the garbage collector's share.
 */
export function summarize(profile, top = 15) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const self = new Map();
  let total = 0;
  for (const [id, n] of hits) {
    const f = byId.get(id).callFrame;
    const file = f.url ? f.url.replace(/^.*\/(dist|node_modules)\//, (_, d) => (d === 'dist' ? '' : 'node_modules/')) : '';
    const key = `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + n);
    total += n;
  }
  const pct = (n) => Math.round((n / total) * 1000) / 10;
  return {
    samples: total,
    gc_pct: pct(self.get('(garbage collector)') ?? 0),
    idle_pct: pct(self.get('(idle)') ?? 0),
    top_self: [...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, n]) => ({ fn, self_pct: pct(n) })),
  };
}
