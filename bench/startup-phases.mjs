// Where a cold `kubestrap plan` spends its time, phase by phase, in one fresh Node process running
// the built JavaScript. Prints one JSON object of milliseconds. Usage: node bench/startup-phases.mjs RECIPE DIR
const t0 = performance.now();
const phases = {};
let last = t0;
const mark = (name) => { const now = performance.now(); phases[name] = now - last; last = now; };

const dist = new URL('../dist/', import.meta.url);
await import(new URL('cli.js', dist).href);
mark('import dist/cli.js (cac, errors, events, style)');
const engine = await import(new URL('core/engine.js', dist).href);
const { Events } = await import(new URL('core/events.js', dist).href);
const { HostPool } = await import(new URL('core/hosts/pool.js', dist).href);
mark('import core/engine.js and what it imports');
const { builtinTasks } = await import(new URL('tasks/index.js', dist).href);
mark('import tasks/index.js (every built-in task)');
const [recipe, dir] = process.argv.slice(2);
const opts = {
  env: { KUBESTRAP_HOME: `${dir}/home` }, cwd: process.cwd(), recipeDirs: [new URL('../recipes', import.meta.url).pathname],
  builtinTasks, taskFiles: [], profile: 'kubestrap', concurrency: 4, events: new Events(), signal: new AbortController().signal,
};
const loaded = await engine.load(opts, recipe, { dir });
mark('load: YAML parse, validation, graph');
const pool = new HostPool(`${dir}/home/known_hosts`);
await engine.planGraph(opts, loaded, pool);
await pool.closeAll();
mark('plan: run every step in plan mode, build the document');
process.stdout.write(JSON.stringify({ ...phases, total: performance.now() - t0 }) + '\n');
