// bb_runner number KILN_BB_WORKER. buildbarn.sh starts it inside fresh network (only `lo`),
// UTS (hostname `kiln`), IPC and PID namespaces; bb_worker reaches it over a unix socket.
local common = import 'common.libsonnet';
local id = std.extVar('KILN_BB_WORKER');
local dir = common.state + '/worker-' + id;

{
  buildDirectoryPath: dir + '/build',
  grpcServers: [{
    listenPaths: [dir + '/runner.sock'],
    authenticationPolicy: common.allow,
  }],
  // The step sees the input root as `/` (a kiln image tree with /kiln/... mounted in it).
  chrootIntoInputRoot: true,
  // ...and runs as 1000:1000, like kiln's Docker sandbox: not root, so no capabilities.
  runCommandsAs: { userId: 1000, groupId: 1000 },
  // Processes a step leaves behind are killed once it ends, as a container's are. Safe here:
  // the runner has a PID namespace and a /proc of its own, so it sees only its own steps.
  cleanProcessTable: true,
  // Before each command: a /proc mounted into the input root, by proc-installer.mjs (started
  // by buildbarn.sh in this runner's namespaces), as Docker gives a container one.
  temporaryDirectoryInstaller: { address: 'unix:' + dir + '/installer.sock' },
  // No TMPDIR: the runner would point it at a host path, which means nothing inside the chroot.
  setTmpdirEnvironmentVariable: false,
}
