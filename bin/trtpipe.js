#!/usr/bin/env node
// Thin launcher: the CLI is compiled ahead of time to dist/ (npm run build),
// so no TypeScript compiler is loaded at run time.
import('../dist/src/cli/main.js').then(
  (m) => m.main(process.argv.slice(2)),
  (err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
      console.error('trtpipe: not built yet; run `npm ci` (or `npm run build`) in the trtpipe folder');
      process.exit(2);
    }
    throw err;
  },
);
