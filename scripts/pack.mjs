#!/usr/bin/env node
// The npm package differs from the checkout in three ways, made here by the prepack and postpack
// hooks of `npm pack` / `npm publish`:
// - dist/ is built from scratch (no stale output of a deleted source file ships);
// - npm-shrinkwrap.json, a copy of package-lock.json, ships with it, so that `npm install -g`
//   installs the dependency tree the tests ran against rather than whatever is newest that day
//   (npm's advice for command-line tools; devDependencies in it are skipped by installs);
// - its package.json has no `prepare` script: in a checkout `prepare` builds dist/ on `npm install`,
//   but the package already carries dist/, and npm would list `prepare` as an install script to
//   approve for a tarball and then run tsc, which an install without devDependencies does not have.
// `postpack` puts package.json back and removes the shrinkwrap.
//
//   node scripts/pack.mjs prepack [--no-build]    (--no-build: ship dist/ as it is)
//   node scripts/pack.mjs postpack
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = process.cwd();
const manifest = path.join(root, 'package.json');
const saved = path.join(root, '.package.json.prepack');
const shrinkwrap = path.join(root, 'npm-shrinkwrap.json');
const [step, ...flags] = process.argv.slice(2);

/** Replace a file in one step, so that nothing reading it ever sees half of it. */
function replace(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function restore() {
  if (fs.existsSync(saved)) fs.renameSync(saved, manifest);
  fs.rmSync(shrinkwrap, { force: true });
}

if (step === 'prepack') {
  restore(); // a pack that failed half-way left its changes behind
  if (!flags.includes('--no-build')) {
    fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
    const built = spawnSync('npm', ['run', 'build'], {
      cwd: root,
      stdio: 'inherit',
      shell: process.platform === 'win32',
    });
    if (built.status !== 0) process.exit(built.status ?? 1);
  }
  for (const needed of ['dist/cli/main.js', 'dist/dashboard/index.html']) {
    if (!fs.existsSync(path.join(root, needed))) {
      console.error(`pack: ${needed} is missing; run \`npm run build\` first.`);
      process.exit(1);
    }
  }
  fs.copyFileSync(path.join(root, 'package-lock.json'), shrinkwrap);
  const text = fs.readFileSync(manifest, 'utf8');
  const pkg = JSON.parse(text);
  delete pkg.scripts.prepare;
  fs.writeFileSync(saved, text);
  replace(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
} else if (step === 'postpack') {
  restore();
} else {
  console.error('usage: node scripts/pack.mjs prepack [--no-build] | postpack');
  process.exit(2);
}
