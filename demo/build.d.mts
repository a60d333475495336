/** The repository's root directory (with a trailing slash). */
export declare const root: string
/** Where `npm start`'s hub bundle goes (.aegis-build/). */
export declare const cacheDir: string
/** The hub's bundle (`aegis-replication/hub` built for Node). */
export declare const hubEntry: string
/** The built demo app (demo/dist/), served by the hub. */
export declare const demoDir: string

/**
 * Builds the hub (.aegis-build/hub.mjs) and the demo (demo/dist/) with
 * esbuild where their sources are newer than their outputs, with a line per
 * step on `out`.
 */
export declare const ensureBuilt: (options?: { force?: boolean, out?: NodeJS.WritableStream & { isTTY?: boolean } }) => Promise<void>

/** Bundles `aegis-replication/hub` for Node (default: {@link hubEntry}). */
export declare const buildHub: (options?: { outfile?: string }) => Promise<void>

/** Builds the demo app into `outDir` (default: {@link demoDir}), replacing it whole. */
export declare const buildDemo: (options?: { outDir?: string }) => Promise<void>
