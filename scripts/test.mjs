#!/usr/bin/env node
// Runs every test file (or the ones named) with node's test runner, TypeScript loaded by tsx.
// `npm test`                       → all of test/**/*.test.ts
// `npm test -- test/config`        → the files under a folder or matching a path fragment
// `npm test -- --test-reporter=tap` → node's raw TAP instead of the summary (scripts/test-reporter.mjs)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const passThrough = args.filter((a) => a.startsWith('--'));
const filters = args.filter((a) => !a.startsWith('--'));

function find(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'support' || e.name === 'node_modules' ? [] : find(p);
    return e.name.endsWith('.test.ts') ? [path.relative(root, p)] : [];
  });
}

let files = find(path.join(root, 'test')).sort();
if (filters.length) files = files.filter((f) => filters.some((q) => f.includes(q.replace(/^\.\//, ''))));
if (files.length === 0) {
  console.error(`No test files match ${filters.join(' ') || 'test/**/*.test.ts'}.`);
  process.exit(1);
}

const concurrency = process.env.TEST_CONCURRENCY ?? '2';
// One line per file, failures in full and a summary at the end, unless another reporter is asked for.
const reporter = passThrough.some((a) => a.startsWith('--test-reporter'))
  ? []
  : [
      `--test-reporter=${pathToFileURL(path.join(root, 'scripts', 'test-reporter.mjs')).href}`,
      '--test-reporter-destination=stdout',
    ];
const res = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    // A hang guard, not a time budget. node applies it to each test file as a whole too, and one
    // file of Claude Code runs has taken 180 s on a loaded 2-core machine: far beyond that.
    '--test-timeout=600000',
    ...reporter,
    ...passThrough,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, CCPROXY_TEST: '1' } },
);
process.exit(res.status ?? 1);
