/** Bundles entry points (paths relative to the repository) into outdir, as the shipped CLI is. */
export function bundle(entryPoints: string[], outdir: string): Promise<void>;
