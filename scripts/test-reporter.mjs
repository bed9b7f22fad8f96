// The reporter `npm test` uses (node's test runner, `--test-reporter`): one line per test file as it
// finishes, then every failure in full — the test's path, its error and what its file printed — and
// a summary. The output of passing files is not shown. `npm test -- --test-reporter=tap` gives the
// raw TAP stream instead.
import path from 'node:path';

const root = process.cwd();
const rel = (file) => (file ? path.relative(root, file) || file : '(unknown file)');
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
/** Lines of a file's own output kept for its failure report (the end is what explains a failure). */
const OUTPUT_LINES = 200;
/** node's own summary lines; only the duration is taken, the counts are the reporter's. */
const SUMMARY = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ([\d.]+)$/;

function indent(text, pad = '    ', blank = '') {
  return String(text)
    .replace(/\s+$/, '')
    .split('\n')
    .map((l) => (l ? pad + l : blank))
    .join('\n');
}

/** Stack frames inside node itself say nothing about the failure. */
const internal = (line) => /^\s+at .*\(?node:(internal|async_hooks)/.test(line);

/** The error of a failed test as a person reads it: message (with the assertion's diff) and stack. */
function describeError(error) {
  const cause = error?.cause ?? error;
  if (!cause || typeof cause !== 'object') return String(cause ?? error?.message ?? 'failed');
  const stack = typeof cause.stack === 'string' && cause.stack !== 'undefined' ? cause.stack : '';
  const message = cause.message ?? error?.message ?? '';
  // An assertion's stack starts with its message; other errors may not.
  const text = stack.includes(message) ? stack : [message, stack].filter(Boolean).join('\n');
  return (
    text
      .split('\n')
      .filter((l) => !internal(l))
      .join('\n') || String(error?.message ?? 'failed')
  );
}

export default async function* reporter(source) {
  /** Per file: names of the tests being run, by nesting level (for a failure's path). */
  const stacks = new Map();
  /** Per file: its stdout and stderr lines. */
  const output = new Map();
  const files = new Map(); // file → { pass, fail, ms }
  const failures = [];
  const cancelled = [];
  let skipped = 0;
  let todo = 0;
  let durationMs = 0;

  const fileStats = (file) => {
    let s = files.get(file);
    if (!s) {
      s = { pass: 0, fail: 0, ms: undefined, reported: false, printed: false };
      files.set(file, s);
    }
    return s;
  };
  // node reports one file's tests after another, in order, while `test:complete` comes when a file
  // ends: a file's line is printed once both its report and its completion are in.
  let reporting;
  const line = (file) => {
    const s = fileStats(file);
    if (s.printed || !s.reported || s.ms === undefined) return '';
    s.printed = true;
    const counts = `${s.pass} passed${s.fail ? `, ${s.fail} failed` : ''}`;
    return `${s.fail > 0 ? '✖' : '✔'} ${rel(file)}  (${counts}, ${seconds(s.ms)})\n`;
  };
  const reportOf = (file) => {
    if (file === reporting) return '';
    const done = reporting;
    reporting = file;
    if (done === undefined) return '';
    fileStats(done).reported = true;
    return line(done);
  };

  for await (const { type, data } of source) {
    switch (type) {
      case 'test:stdout':
      case 'test:stderr': {
        const lines = output.get(data.file) ?? [];
        lines.push(data.message);
        if (lines.length > OUTPUT_LINES * 2) lines.splice(0, lines.length - OUTPUT_LINES);
        output.set(data.file, lines);
        break;
      }
      case 'test:start': {
        const before = reportOf(data.file);
        if (before) yield before;
        const stack = stacks.get(data.file) ?? [];
        stack.length = data.nesting;
        stack[data.nesting] = data.name;
        stacks.set(data.file, stack);
        break;
      }
      case 'test:pass':
      case 'test:fail': {
        const before = reportOf(data.file);
        if (before) yield before;
        const kind = data.details?.error?.failureType;
        if (data.name === data.file) {
          // The file itself failed (it crashed, or did not load) rather than one of its tests.
          if (type === 'test:fail' && kind !== 'subtestsFailed') {
            fileStats(data.file).fail++;
            failures.push({ file: data.file, where: '(the file itself)', error: data.details?.error });
          }
          break;
        }
        const isSuite = data.details?.type === 'suite';
        const where = [...(stacks.get(data.file) ?? []).slice(0, data.nesting), data.name].join(' › ');
        if (type === 'test:pass') {
          if (isSuite) break;
          if (data.skip !== undefined) skipped++;
          else if (data.todo !== undefined) todo++;
          else fileStats(data.file).pass++;
        } else if (data.todo !== undefined) {
          // A known gap, marked todo: node does not fail the run for it, and neither do we.
          todo++;
        } else if (kind === 'cancelledByParent') {
          cancelled.push({ file: data.file, where });
        } else if (kind !== 'subtestsFailed') {
          // A test's own failure, or a suite's (a hook that threw).
          fileStats(data.file).fail++;
          failures.push({ file: data.file, where, error: data.details?.error });
        }
        break;
      }
      case 'test:complete': {
        if (data.name !== data.file || data.nesting !== 0) break;
        fileStats(data.file).ms = data.details?.duration_ms ?? 0;
        const ready = line(data.file);
        if (ready) yield ready;
        break;
      }
      case 'test:diagnostic': {
        const m = data.file ? null : SUMMARY.exec(data.message);
        if (m?.[1] === 'duration_ms') durationMs = Number(m[2]);
        else if (m) break;
        else if (data.file && data.nesting > 0) {
          const lines = output.get(data.file) ?? [];
          lines.push(`# ${data.message}\n`);
          output.set(data.file, lines);
        }
        break;
      }
    }
  }

  const out = [];
  for (const [file, s] of files) {
    s.reported = true;
    s.ms ??= 0;
    const rest = line(file);
    if (rest) out.push(rest.trimEnd());
  }
  if (failures.length > 0) {
    out.push('', `━━ ${failures.length} failure${failures.length === 1 ? '' : 's'} ━━`);
    const shown = new Set();
    for (const [i, f] of failures.entries()) {
      out.push('', `${i + 1}) ${rel(f.file)}`, `   ${f.where}`, '', indent(describeError(f.error)));
      const printed = output.get(f.file);
      if (printed?.length && !shown.has(f.file)) {
        shown.add(f.file);
        const text = printed.join('').split('\n').slice(-OUTPUT_LINES).join('\n');
        out.push(
          '',
          `   output of ${rel(f.file)} (last ${OUTPUT_LINES} lines at most):`,
          indent(text, '   │ ', '   │'),
        );
      }
    }
  }
  if (cancelled.length > 0) {
    out.push('', `Cancelled (their suite or file failed first): ${cancelled.length}`);
    for (const c of cancelled.slice(0, 20)) out.push(`   ${rel(c.file)} › ${c.where}`);
    if (cancelled.length > 20) out.push(`   … and ${cancelled.length - 20} more`);
  }
  const slowest = [...files.entries()].sort((a, b) => (b[1].ms ?? 0) - (a[1].ms ?? 0)).slice(0, 5);
  if (slowest.length > 1) {
    out.push('', 'Slowest files:');
    for (const [file, s] of slowest) out.push(`   ${seconds(s.ms).padStart(8)}  ${rel(file)}`);
  }
  const passed = [...files.values()].reduce((sum, f) => sum + f.pass, 0);
  const counts = [
    `${passed} passed`,
    `${failures.length} failed`,
    cancelled.length ? `${cancelled.length} cancelled` : '',
    skipped ? `${skipped} skipped` : '',
    todo ? `${todo} todo` : '',
  ].filter(Boolean);
  const ok = failures.length === 0 && cancelled.length === 0;
  out.push('', `${ok ? '✔' : '✖'} ${counts.join(', ')} — ${files.size} files, ${seconds(durationMs)}`, '');
  yield out.join('\n');
}
