#!/usr/bin/env node
// Runs the built CLI (dist/). `npm install` builds it; `npm run build` rebuilds it.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'ccproxy: dist/ is missing; run `npm install` (or `npm run build`) in the ccproxy folder first.\n',
  );
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv);
