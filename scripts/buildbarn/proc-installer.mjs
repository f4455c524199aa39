// A /proc for every action of a chrooting bb_runner (a test peer of scripts/buildbarn.sh, never
// part of kiln). bb_runner calls its TemporaryDirectoryInstaller before each command; this one
// mounts a procfs at `<action>/root/proc`, so the step finds /proc in its chroot as it does in
// Docker (glibc's fchmodat(AT_SYMLINK_NOFOLLOW), used by GNU cp -R, fails without it). It runs
// inside the runner's namespaces (buildbarn.sh starts both in one `unshare`): the mount stays in
// the runner's private mount namespace and shows the runner's own PID namespace. The previous
// action's mount is detached first (one action at a time per runner).
//   node proc-installer.mjs <socket> <build directory>
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const [socket, buildDir] = process.argv.slice(2);
if (!socket || !buildDir) {
  console.error('usage: proc-installer.mjs <socket> <build directory>');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const definition = protoLoader.loadSync('tmp_installer.proto', { keepCase: true, includeDirs: [here] });
const service = grpc.loadPackageDefinition(definition).buildbarn.tmp_installer.TemporaryDirectoryInstaller.service;

/** procfs mounts below the build directory in this mount namespace, deepest first. */
function procMounts() {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'proc' && f[1]?.startsWith(`${buildDir}/`))
    .map((f) => f[1].replace(/\\040/g, ' '))
    .sort((a, b) => b.length - a.length);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error}`);
}

function install(tmp) {
  if (tmp.startsWith('/') || tmp.split('/').includes('..')) throw new Error(`unexpected temporary directory ${tmp}`);
  for (const m of procMounts()) run('umount', ['-l', m]);
  const proc = join(buildDir, dirname(tmp), 'root', 'proc');
  mkdirSync(proc, { recursive: true });
  run('mount', ['-t', 'proc', '-o', 'nosuid,nodev,noexec', 'proc', proc]);
}

const server = new grpc.Server();
server.addService(service, {
  CheckReadiness: (_call, done) => done(null, {}),
  InstallTemporaryDirectory: (call, done) => {
    try {
      install(call.request.temporary_directory);
      done(null, {});
    } catch (err) {
      done({ code: grpc.status.INTERNAL, details: String(err.message ?? err) });
    }
  },
});
server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
});
