/** The daemon entry for the stress suite: the TypeScript sources under tsx, no build needed. */

import { daemonMain } from '../adapters/daemon/entry.js';

await daemonMain(process.argv.slice(2));
