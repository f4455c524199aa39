// What a step can and cannot do, observed from inside real containers and from the engine API.
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createDockerEngine, TREE_IMAGE_REPO } from '../../src/sandbox/docker.js';
import { loadSandboxProfile } from '../../src/sandbox/profile.js';
import type { EngineAction, EngineResult } from '../../src/sandbox/types.js';
import { createStore } from '../../src/store/index.js';
import { digestHex } from '../../src/util/digest.js';
import { NO_DOCKER, sandboxAction } from '../helpers/busybox.js';
import { makeTempDir } from '../helpers/index.js';
import { startHostServer } from '../helpers/host-server.js';

const { profile } = await loadSandboxProfile();
const docker = new Dockerode();
const scratch = await makeTempDir();
const store = await createStore({ root: join(scratch.dir, 'store') });
const engine = createDockerEngine({ profile, docker });
let image = '';

async function runScript(
  script: string,
  extra: Partial<EngineAction> = {},
  io: { signal?: AbortSignal; onOutput?: (chunk: Buffer) => void } = {},
): Promise<{ result: EngineResult; stdout: string }> {
  let stdout = '';
  const action = await sandboxAction(store, profile, script, extra);
  const result = await engine.run(action, {
    store,
    ...(io.signal && { signal: io.signal }),
    onOutput: (chunk, stream) => {
      if (stream === 'stdout') stdout += chunk.toString();
      io.onOutput?.(chunk);
    },
  });
  return { result, stdout };
}

/** `key value` lines printed by a probe script, as a map. */
function probes(stdout: string): Map<string, string> {
  return new Map(stdout.split('\n').filter(Boolean).map((l) => {
    const i = l.indexOf(' ');
    return [l.slice(0, i), l.slice(i + 1)] as [string, string];
  }));
}

async function containersOf(step: string): Promise<number> {
  return (await docker.listContainers({ all: true, filters: { label: [`kiln.step=${step}`] } })).length;
}

const runStep = suite('runStep');
const it = NO_DOCKER ? runStep.skip : runStep;
runStep.before(async () => {
  if (NO_DOCKER) return;
  // The control container below runs in the image the engine imported for the sandbox action.
  const action = await sandboxAction(store, profile, 'true');
  await engine.run(action, { store });
  if (action.image.kind === 'tree') image = `${TREE_IMAGE_REPO}:${digestHex(action.image.tree)}`;
});
runStep.after(() => scratch.cleanup());

it('reaches no host address, no DNS and has only lo, while a bridged container does reach the host', async () => {
  const server = await startHostServer();
  const { port } = server;
  try {
    // Control: a container on the default bridge finds the host there (its default gateway, the
    // docker0 address, which os.networkInterfaces() omits while the bridge has no carrier) and
    // reaches the server: the probe works, so a failure below is the sandbox's doing.
    const control = await docker.createContainer({
      Image: image,
      Tty: true,
      Cmd: ['/bin/sh', '-c', [
        'while read iface dest gw rest; do [ "$dest" = 00000000 ] && g=$gw; done < /proc/net/route',
        'ip=$((0x${g:6:2})).$((0x${g:4:2})).$((0x${g:2:2})).$((0x${g:0:2}))',
        'echo "gateway $ip"',
        `timeout 5 wget -q -O /dev/null "http://$ip:${port}/"`,
      ].join('\n')],
      HostConfig: { NetworkMode: 'bridge' },
    });
    let gateway: string | undefined;
    try {
      await control.start();
      assert.is(((await control.wait()) as { StatusCode: number }).StatusCode, 0);
      gateway = /gateway (\d+\.\d+\.\d+\.\d+)/.exec((await control.logs({ stdout: true })).toString())?.[1];
    } finally {
      await control.remove({ force: true });
    }
    assert.ok(gateway, 'the bridged container found its gateway');
    assert.is(server.requests(), 1);
    server.reset();

    const hosts = new Set(['127.0.0.1', gateway]);
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (a.family === 'IPv4') hosts.add(a.address);
    }
    // wget -T segfaults in Debian's static busybox 1.35; `timeout` bounds it instead.
    const script = [
      ...[...hosts].map((h) => `rc=0; timeout 5 wget -q -O /dev/null http://${h}:${port}/ 2>/dev/null || rc=$?; echo "wget:${h} $rc"`),
      'rc=0; nslookup example.org >/dev/null 2>&1 || rc=$?; echo "dns $rc"',
      'echo "net $(ls /sys/class/net | tr "\\n" " ")"',
    ].join('\n');
    const { result, stdout } = await runScript(script);
    assert.is(result.exitCode, 0);
    const seen = probes(stdout);
    for (const h of hosts) assert.is(seen.get(`wget:${h}`), '1', `wget to ${h} must fail to connect`);
    assert.is.not(seen.get('dns'), '0');
    assert.ok(seen.has('dns'));
    assert.is(seen.get('net')?.trim(), 'lo');
    assert.is(server.requests(), 0);
  } finally {
    await server.close();
  }
});

it('runs without capabilities or new privileges, as 1000, with read-only inputs and no engine socket', async () => {
  const script = [
    'grep -E "^(CapEff|CapBnd|CapPrm|NoNewPrivs|Seccomp):" /proc/self/status | tr -d "\\t" | sed "s/:/ /"',
    'echo "hostname $(hostname)"',
    'echo "uid $(id -u)"',
    'echo "gid $(id -g)"',
    'rc=0; echo x 2>/dev/null > /kiln/inputs/new || rc=$?; echo "create-input $rc"',
    'rc=0; echo x 2>/dev/null >> /kiln/inputs/x || rc=$?; echo "append-input $rc"',
    'rc=0; chmod 0777 /kiln/inputs 2>/dev/null || rc=$?; echo "chmod-inputs $rc"',
    'rc=0; chmod 0666 /kiln/inputs/x 2>/dev/null || rc=$?; echo "chmod-input $rc"',
    'echo "input $(cat /kiln/inputs/x)"',
    'echo "work $(touch /kiln/work/ok && echo writable)"',
    'echo "pwd $(pwd)"',
    'if [ -e /var/run/docker.sock ] || [ -e /run/docker.sock ]; then echo "socket present"; else echo "socket absent"; fi',
  ].join('\n');
  const { result, stdout } = await runScript(script);
  assert.is(result.exitCode, 0);
  const seen = probes(stdout);
  assert.is(seen.get('CapEff'), '0000000000000000');
  assert.is(seen.get('CapPrm'), '0000000000000000');
  assert.is(seen.get('CapBnd'), '0000000000000000');
  assert.is(seen.get('NoNewPrivs'), '1');
  assert.is(seen.get('Seccomp'), '2');
  assert.is(seen.get('hostname'), 'kiln');
  assert.is(seen.get('uid'), '1000');
  assert.is(seen.get('gid'), '1000');
  assert.is.not(seen.get('create-input'), '0');
  assert.is.not(seen.get('append-input'), '0');
  assert.is.not(seen.get('chmod-inputs'), '0');
  assert.is.not(seen.get('chmod-input'), '0');
  assert.is(seen.get('input'), 'input x');
  assert.is(seen.get('work'), 'writable');
  assert.is(seen.get('pwd'), '/kiln/work');
  assert.is(seen.get('socket'), 'absent');
});

it('creates the container with limits and no mounts, and an abort kills it', async () => {
  const step = `inspect-${randomBytes(6).toString('hex')}`;
  const controller = new AbortController();
  let inspected: Promise<Dockerode.ContainerInspectInfo | Error> | undefined;
  const { result } = await runScript('echo ready\nsleep 30', { label: step }, {
    signal: controller.signal,
    onOutput: (chunk) => {
      if (inspected || !chunk.toString().includes('ready')) return;
      inspected = (async () => {
        try {
          const found = await docker.listContainers({ all: true, filters: { label: [`kiln.step=${step}`] } });
          assert.is(found.length, 1);
          return await docker.getContainer(found[0]!.Id).inspect();
        } catch (err) {
          return err as Error;
        } finally {
          controller.abort();
        }
      })();
    },
  });
  assert.ok(inspected, 'the step printed ready');
  const info = await inspected!;
  if (info instanceof Error) throw info;
  assert.is(result.killed, 'aborted');
  assert.is.not(result.exitCode, 0);
  assert.is(info.Config.Labels['kiln.step'], step);
  const h = info.HostConfig;
  assert.is(h.NetworkMode, 'none');
  assert.is(h.PidsLimit, profile.limits.pids);
  assert.is(h.Memory, profile.limits.memoryBytes);
  assert.is(h.MemorySwap, profile.limits.memoryBytes);
  assert.equal(h.CapDrop, ['ALL']);
  assert.equal(h.SecurityOpt, ['no-new-privileges']);
  assert.is(h.Privileged, false);
  assert.is(h.IpcMode, 'private');
  assert.ok(!h.Binds || h.Binds.length === 0);
  assert.equal(info.Mounts, []);
  assert.equal(info.NetworkSettings.Networks, {});
  assert.is((info.Config as { NetworkDisabled?: boolean }).NetworkDisabled, true);
  assert.is(info.Config.Hostname, 'kiln');
  assert.is(info.Config.User, '1000:1000');
  assert.is(await containersOf(step), 0);
});

it('refuses to start when the signal is already aborted', async () => {
  const controller = new AbortController();
  controller.abort();
  const step = `pre-aborted-${randomBytes(6).toString('hex')}`;
  let threw = false;
  try {
    await runScript('true', { label: step }, { signal: controller.signal });
  } catch (err) {
    threw = (err as Error).name === 'AbortError';
  }
  assert.ok(threw);
  assert.is(await containersOf(step), 0);
});

runStep.run();
