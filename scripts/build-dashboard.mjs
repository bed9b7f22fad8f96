#!/usr/bin/env node
// Bundles the dashboard (src/dashboard/) with esbuild into dist/dashboard/: hashed JS and CSS,
// and index.html pointing at them. Everything is local: no CDN at run time.
// `node scripts/build-dashboard.mjs [--outdir DIR] [--dev]`
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { outdir: { type: 'string' }, dev: { type: 'boolean', default: false } },
});
const outdir = path.resolve(values.outdir ?? path.join(root, 'dist', 'dashboard'));
const src = path.join(root, 'src', 'dashboard');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // An install without devDependencies uses the dashboard shipped in dist/.
  if (fs.existsSync(path.join(outdir, 'index.html'))) process.exit(0);
  console.error(
    'build-dashboard: esbuild is not installed (npm install --include=dev) and there is no prebuilt dashboard.',
  );
  process.exit(1);
}

fs.rmSync(outdir, { recursive: true, force: true });
fs.mkdirSync(outdir, { recursive: true });

const result = await esbuild.build({
  entryPoints: [path.join(src, 'main.ts')],
  outdir,
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome111', 'firefox113', 'safari16.4'],
  platform: 'browser',
  minify: !values.dev,
  sourcemap: values.dev ? 'linked' : false,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: root,
});

const find = (ext) => {
  const hit = Object.keys(result.metafile.outputs).find(
    (f) => f.endsWith(ext) && path.basename(f).startsWith('main-'),
  );
  if (!hit) throw new Error(`build-dashboard: no ${ext} output`);
  return path.basename(hit);
};

const html = fs
  .readFileSync(path.join(src, 'page.html'), 'utf8')
  .replace('%MAIN_JS%', find('.js'))
  .replace('%MAIN_CSS%', find('.css'));
fs.writeFileSync(path.join(outdir, 'index.html'), html);

const size = fs.readdirSync(outdir).reduce((n, f) => n + fs.statSync(path.join(outdir, f)).size, 0);
console.log(`dashboard → ${path.relative(root, outdir) || outdir} (${(size / 1024).toFixed(0)} KB)`);
