/** Builds the shipped CLI (dist/kubestrap.cjs) and its API (dist/index.js) into outdir. */
export function buildCli(outdir: string): Promise<void>;
/** Bundles entry points (paths relative to the repository) into outdir as ES modules split into chunks. */
export function bundle(entryPoints: string[], outdir: string): Promise<void>;
