/** The repository's root directory (with a trailing slash). */
export declare const root: string

/**
 * Builds the package (dist/) and the demo (demo/dist/) where their sources
 * are newer than their outputs, with a progress line on `out`.
 */
export declare const ensureBuilt: (options?: { force?: boolean, out?: NodeJS.WritableStream & { isTTY?: boolean } }) => Promise<void>
