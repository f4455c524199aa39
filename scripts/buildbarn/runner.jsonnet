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
  // No TMPDIR: the runner would point it at a host path, which means nothing inside the chroot.
  setTmpdirEnvironmentVariable: false,
}
