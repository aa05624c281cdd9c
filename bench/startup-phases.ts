// Where a cold `kubestrap plan` spends its time, phase by phase, in one fresh Node process. bench/run.ts
// bundles this file as ES modules split into chunks (scripts/build.mjs), so each dynamic import below
// loads, parses and runs its own part; the CLI is one bundle whose parse its code cache spares. Prints one JSON object of milliseconds. Usage: node BUNDLE RECIPE DIR
const t0 = performance.now();
const phases: Record<string, number> = {};
let last = t0;
const mark = (name: string) => {
  const now = performance.now();
  phases[name] = now - last;
  last = now;
};

await import('../core/errors.ts');
mark('import the CLI basics (errors, events, style)');
const engine = await import('../core/engine.ts');
const { Events } = await import('../core/events.ts');
const { HostPool } = await import('../core/hosts/pool.ts');
mark('import the engine and what it imports');
const { builtinTasks } = await import('../tasks/index.ts');
mark('import every built-in task');
const [recipe, dir, recipes] = process.argv.slice(2) as [string, string, string];
const opts = {
  env: { KUBESTRAP_HOME: `${dir}/home` },
  cwd: process.cwd(),
  recipeDirs: [recipes],
  builtinTasks,
  taskFiles: [],
  profile: 'kubestrap',
  concurrency: 4,
  events: new Events(),
  signal: new AbortController().signal,
};
const loaded = await engine.load(opts, recipe, { dir });
mark('load: recipe (cached after the first run), validation, graph');
const pool = new HostPool({ knownHostsFile: `${dir}/home/known_hosts` });
await engine.planGraph(opts, loaded, pool);
await pool.closeAll();
mark('plan: run every step in plan mode, build the document');
process.stdout.write(JSON.stringify({ ...phases, total: performance.now() - t0 }) + '\n');
