import type { IncomingMessage, ServerResponse } from 'node:http'

/** File extension → the Content-Type the demo's files are served with. */
export declare const CONTENT_TYPES: Record<string, string>

/** An `http` handler for `createHub` serving the files of `dir` (true: answered; false: the hub answers). */
export declare const demoHandler: (dir: string) => (req: IncomingMessage, res: ServerResponse) => Promise<boolean>
