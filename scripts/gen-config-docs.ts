// Regenerates docs/configuration.md from the settings schema (`npm run docs:config`).
import fs from 'node:fs';
import path from 'node:path';
import { renderConfigDocs } from '../src/config/render.ts';

const file = path.join(import.meta.dirname, '..', 'docs', 'configuration.md');
fs.writeFileSync(file, renderConfigDocs());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
