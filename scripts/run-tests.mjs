#!/usr/bin/env node
// Runs every compiled uvu test file in its own process (a crash in one file cannot hide the
// others), sums uvu's per-file counts and ends with the plain line CI reads:
// `N passed, N failed, N skipped`. Exit 1 when anything failed.
// Usage: node scripts/run-tests.mjs [filter-substring...]
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');
const filters = process.argv.slice(2);

function walk(dir) {
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : [];
  });
}

const files = walk(testDir).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
let passed = 0, failed = 0, skipped = 0;
const failedFiles = [];
const started = Date.now();

for (const file of files) {
  const rel = relative(root, file);
  const t0 = Date.now();
  const { code, out } = await new Promise((resolve) => {
    const child = spawn(process.execPath, ['--enable-source-maps', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { out += d; process.stderr.write(d); });
    child.on('close', (code) => resolve({ code, out }));
  });
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  const ok = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  const skip = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  let fileFailed;
  if (Number.isNaN(total) || Number.isNaN(ok)) {
    fileFailed = 1; // crashed before uvu could report
  } else {
    passed += ok; skipped += skip;
    fileFailed = total - ok; // uvu's Total already leaves skipped cases out
    if (fileFailed === 0 && code !== 0) fileFailed = 1;
  }
  failed += fileFailed;
  if (fileFailed > 0) failedFiles.push(rel);
  console.log(`# ${rel}: ${fileFailed > 0 ? 'FAILED' : 'ok'} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
}

console.log(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(1)}s`);
if (failedFiles.length) console.log(`failed files:\n  ${failedFiles.join('\n  ')}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
