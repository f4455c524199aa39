import { posix } from 'node:path';
import type { CommandSpec, InputLayer } from '../reapi/index.js';
import type { TreeEntry, TreeManifest } from '../store/index.js';
import { SandboxError } from './errors.js';
import type { EngineAction, Mount } from './types.js';

/*
 * How an EngineAction becomes a Remote Execution API action, pure. The input root is the image
 * tree; the read-only mounts (inputs, needed steps) are staged beside it under STAGING_DIR; the
 * Command runs a short POSIX shell script first (the "layout"), which gives the step the file
 * system the local engine gives it and then execs the action's own argv. Why a script: a farm
 * stamps every input file with its own time (Buildbarn: 2000-01-01) and makes every folder 0777,
 * and an REAPI input root has no owners, modes or mtimes to say otherwise. Files of the step's
 * user can be given any time and mode; files the farm placed cannot. So the layout copies each
 * staged mount to its path, sets the modes the local engine sets (read-only folders 0555, the
 * scratch folders as the mount says), stamps everything it laid out with SOURCE_DATE_EPOCH,
 * removes the staging area and what the runner needed, and only then starts the step. What it
 * cannot change (the image's own files keep the farm's time, owners are the step's user) is
 * listed in docs/remote-execution.md.
 */

/** Where the read-only mounts wait in the input root until the layout copies them into place. */
export const STAGING_DIR = '.kiln-reapi';

/** What every worker of the farm gives an action, whatever the action asks: checked, never assumed. */
export interface RemoteFarm {
  /** The user the farm's runners run commands as (Buildbarn: `runCommandsAs`). */
  user: { uid: number; gid: number };
  hostname: string;
  domainname: string;
  /** Limits the farm's workers enforce for every action (the test cluster: the profile's, through cgroups). */
  limits: { memoryBytes: number; pids: number };
  /** Platform properties the workers advertise; every Action carries exactly these. */
  platform: Record<string, string>;
}

/** The REAPI shape of one action: the input root's layers, the Command, the timeout. */
export interface RemoteActionPlan {
  layers: InputLayer[];
  command: CommandSpec;
  timeoutMs?: number;
}

/** What the layout needs of the image and of the staged trees, read from the store by the caller. */
export interface RemoteActionInputs {
  image: TreeManifest;
  /** The manifest of each tree mount, by its index in `action.mounts`. */
  trees: Map<number, TreeManifest>;
}

/** Commands the layout runs; each must be in the image (on PATH, or as a busybox applet). */
const LAYOUT_TOOLS = ['cp', 'find', 'touch', 'chmod', 'mkdir', 'mv', 'rm', 'ln'] as const;
type LayoutTool = (typeof LAYOUT_TOOLS)[number];
const BUSYBOX_PATHS = ['bin/busybox', 'usr/bin/busybox', 'sbin/busybox', 'usr/sbin/busybox'];
/** Shells the layout script can run in (it needs `sh -c script name args…`). */
const POSIX_SHELLS = new Set(['sh', 'ash', 'dash', 'bash', 'ksh', 'mksh', 'zsh', 'busybox']);
/** Variables a shell exports on its own (`cd` sets OLDPWD, a shell counts SHLVL). */
const SHELL_VARIABLES = ['OLDPWD', 'SHLVL'];
/** A chrooting runner starts every command as `/usr/bin/env -- argv…` (Buildbarn's bb_runner). */
const RUNNER_ENV = 'usr/bin/env';

function unsupported(action: EngineAction, what: string, hint?: string): SandboxError {
  return new SandboxError('KILN_SANDBOX_UNSUPPORTED', `step ${action.label}: the remote engine cannot ${what}`, {
    step: action.label,
    ...(hint !== undefined && { hint }),
  });
}

/**
 * Refuses what a farm cannot do as asked, naming it: an image by registry reference, another
 * user, hostname or limits than the farm's workers have, a CPU set, in-memory folders. Never
 * silently ignored: a step that ran under other conditions than it asked would record a lie.
 */
export function assertRemoteRunnable(action: EngineAction, farm: RemoteFarm): void {
  if (action.image.kind !== 'tree') {
    throw unsupported(action, `run the registry image ${action.image.ref}`, 'a farm runs steps in kiln image trees only: use a rootfs, step or debian image');
  }
  const user = `${action.user.uid}:${action.user.gid}`;
  const farmUser = `${farm.user.uid}:${farm.user.gid}`;
  if (user !== farmUser) throw unsupported(action, `run as ${user}: its workers run every command as ${farmUser}`);
  if (action.privilege) throw unsupported(action, `grant the privilege "${action.privilege.name}"`, 'privileged actions run on the local engine (docs/remote-execution.md)');
  if (action.hostname !== farm.hostname || action.domainname !== farm.domainname) {
    throw unsupported(action, `name the host ${action.hostname} (${action.domainname}): its workers are named ${farm.hostname} (${farm.domainname})`);
  }
  if (action.limits.cpus !== undefined) throw unsupported(action, `restrict the step to CPUs ${action.limits.cpus}`);
  if (action.limits.memoryBytes !== farm.limits.memoryBytes || action.limits.pids !== farm.limits.pids) {
    throw unsupported(action, `apply memory ${action.limits.memoryBytes} bytes and ${action.limits.pids} tasks: its workers apply ${farm.limits.memoryBytes} and ${farm.limits.pids}`);
  }
  if (action.tmpfs && Object.keys(action.tmpfs).length > 0) throw unsupported(action, `give ${Object.keys(action.tmpfs).join(', ')} as in-memory folders`);
  if (action.readOnlyMounts === 'memory') throw unsupported(action, 'serve the read-only mounts from memory');
  for (const p of [action.outputPath, action.workdir, ...action.mounts.map((m) => m.path)]) {
    if (!p.startsWith('/') || posix.normalize(p) !== p || p === '/') throw unsupported(action, `place ${JSON.stringify(p)}: not a normalized absolute path below /`);
  }
}

/**
 * The REAPI action for `action`, pure: layers of the input root, the Command (the layout
 * script, then the action's argv), the timeout. `inputs` holds the image's manifest and the
 * staged trees'. Throws KILN_SANDBOX_UNSUPPORTED when the image lacks what the layout needs.
 */
export function planRemoteAction(action: EngineAction, inputs: RemoteActionInputs): RemoteActionPlan {
  const image = new Map(inputs.image.entries.map((e) => [e.path, e]));
  const tools = layoutTools(action, image);
  const runnerEnv = runnerEnvLink(action, image);
  const layers: InputLayer[] = [{ prefix: '', source: { kind: 'tree', manifest: inputs.image } }];
  if (runnerEnv) layers.push({ prefix: posix.dirname(RUNNER_ENV), source: { kind: 'tree', manifest: { kiln: 'tree/v1', entries: [{ path: 'env', type: 'symlink', target: runnerEnv.target }] } } });
  action.mounts.forEach((m, i) => {
    if (m.source.kind === 'tree') layers.push({ prefix: `${STAGING_DIR}/${i}`, source: { kind: 'tree', manifest: inputs.trees.get(i) ?? missingTree(action, m) } });
    else if (m.source.kind === 'file') layers.push({ prefix: `${STAGING_DIR}/${i}`, source: m.source });
  });
  const script = layoutScript(action, { tools, image, ...(runnerEnv && { removeFirst: runnerEnv.remove }) });
  // The local engine puts the hostname in every step's environment; so does the farm's command.
  const env = { ...(action.env.HOSTNAME === undefined && { HOSTNAME: action.hostname }), ...action.env };
  return {
    layers,
    command: {
      arguments: [...shellPrefix(action), script, 'kiln-layout', ...action.argv],
      env,
      outputPaths: [action.outputPath.slice(1)],
    },
    ...(action.limits.timeoutMs !== undefined && { timeoutMs: action.limits.timeoutMs }),
  };
}

function missingTree(action: EngineAction, m: Mount): never {
  throw new TypeError(`step ${action.label}: no manifest for the tree mounted at ${m.path}`);
}

/** The action's shell up to its `-c` (`[…shell, script]` is how kiln plans every action). */
function shellPrefix(action: EngineAction): string[] {
  const argv = action.argv;
  const shell = posix.basename(argv[0] ?? '');
  if (argv.length < 3 || argv[argv.length - 2] !== '-c' || !POSIX_SHELLS.has(shell)) {
    throw unsupported(action, `lay out its file system: its argv does not start with a POSIX shell and -c (${JSON.stringify(argv.slice(0, 3))}…)`);
  }
  return argv.slice(0, -1);
}

/** Each layout tool as a command: its name when the image has it on PATH, else the image's busybox applet. */
function layoutTools(action: EngineAction, image: Map<string, TreeEntry>): Record<LayoutTool, string> {
  const dirs = (action.env.PATH ?? '').split(':').filter((d) => d.startsWith('/')).map((d) => d.replace(/^\/+|\/+$/g, ''));
  const busybox = BUSYBOX_PATHS.find((p) => image.get(p)?.type === 'file');
  const tools = {} as Record<LayoutTool, string>;
  const missing: string[] = [];
  for (const tool of LAYOUT_TOOLS) {
    if (dirs.some((d) => image.has(`${d}/${tool}`))) tools[tool] = tool;
    else if (busybox) tools[tool] = `/${busybox} ${tool}`;
    else missing.push(tool);
  }
  if (missing.length > 0) {
    throw unsupported(action, `lay out its file system: the image has no ${missing.join(', ')} on PATH and no busybox`, 'docs/remote-execution.md lists what an image needs to run on a farm');
  }
  return tools;
}

/**
 * The link the engine adds when the image has no /usr/bin/env (a chrooting runner execs the
 * command through it), and what the layout removes again before the step starts: the link, or
 * the first folder of its path the image lacked.
 */
function runnerEnvLink(action: EngineAction, image: Map<string, TreeEntry>): { target: string; remove: string } | undefined {
  if (image.has(RUNNER_ENV)) return undefined;
  const target = ['bin/env', ...BUSYBOX_PATHS].find((p) => image.has(p));
  if (!target) throw unsupported(action, 'start a command in this image: it has no /usr/bin/env, /bin/env or busybox, which a chrooting runner execs the command through');
  for (const dir of ['usr', 'usr/bin']) {
    const entry = image.get(dir);
    if (!entry) return { target: `/${target}`, remove: `/${dir}` };
    if (entry.type !== 'dir') throw unsupported(action, `add /${RUNNER_ENV} for the runner: /${dir} in the image is not a folder`);
  }
  return { target: `/${target}`, remove: `/${RUNNER_ENV}` };
}

/** A shell word holding `s` verbatim. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The folders above `path`, outermost first: `/a/b/c` → `/a`, `/a/b`. */
function parentsOf(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

/**
 * The layout script (see the top of this file). Steps, in order: remove what only the runner
 * needed; recreate the output folder's parents (the farm made them, root-owned 0777); place each
 * mount in order (later ones over earlier ones, as the local engine composes them); set modes;
 * drop the staging area; stamp every path laid out with SOURCE_DATE_EPOCH; enter the working
 * folder and exec the action's argv, which starts with nothing of this script left.
 */
function layoutScript(action: EngineAction, ctx: { tools: Record<LayoutTool, string>; image: Map<string, TreeEntry>; removeFirst?: string }): string {
  const t = ctx.tools;
  const q = shellQuote;
  const lines = [
    'set -e',
    'umask 022',
    `S=/${STAGING_DIR}`,
    `${t.mkdir} -p "$S"`,
    // Makes $1 a folder of the step's user; what the image held there is copied back in. Copies
    // keep modes (less the umask) and symlinks, not owners (cp -p would warn into the step's log).
    `fresh() { if [ -d "$1" ] && [ ! -L "$1" ]; then ${t.mv} "$1" "$S/old"; ${t.mkdir} "$1"; ${t.cp} -R "$S/old/." "$1/"; ${t.rm} -rf "$S/old"; else ${t.rm} -f "$1"; ${t.mkdir} -p "$1"; fi; }`,
  ];
  if (ctx.removeFirst) lines.push(`${t.rm} -rf ${q(ctx.removeFirst)}`);
  const laidOut = new Set<string>();
  const outputParents = parentsOf(action.outputPath);
  for (const p of outputParents) {
    lines.push(`fresh ${q(p)}`);
    laidOut.add(p);
  }
  const under = (p: string, roots: Iterable<string>) => [...roots].some((r) => p === r || p.startsWith(`${r}/`));
  const finish: string[] = [];
  action.mounts.forEach((m, i) => {
    const target = q(m.path);
    const existing = !under(m.path, outputParents) && ctx.image.has(m.path.slice(1));
    for (const p of parentsOf(m.path)) if (!under(p, laidOut) && !ctx.image.has(p.slice(1))) laidOut.add(p);
    if (!under(m.path, laidOut)) laidOut.add(m.path);
    switch (m.source.kind) {
      case 'tree':
        lines.push(existing ? `fresh ${target}` : `${t.mkdir} -p ${target}`, `${t.cp} -R "$S/${i}/." ${target}/`);
        finish.push(`${t.find} ${target} -type d -exec ${t.chmod} ${m.writable ? '0755' : '0555'} {} +`);
        if (m.writable) finish.push(`${t.find} ${target} -type f -exec ${t.chmod} u+w {} +`);
        break;
      case 'file':
        lines.push(`${t.mkdir} -p ${q(posix.dirname(m.path))}`, `${t.rm} -rf ${target}`, `${t.cp} "$S/${i}" ${target}`);
        if (m.writable) finish.push(`${t.chmod} u+w ${target}`);
        break;
      case 'dir':
        lines.push(existing ? `fresh ${target}` : `${t.mkdir} -p ${target}`);
        finish.push(`${t.chmod} ${(m.source.mode & 0o7777).toString(8).padStart(4, '0')} ${target}`);
        break;
      case 'symlink':
        lines.push(`${t.mkdir} -p ${q(posix.dirname(m.path))}`, `${t.rm} -rf ${target}`, `${t.ln} -s ${q(m.source.target)} ${target}`);
        break;
    }
  });
  const roots = [...laidOut].filter((p, _, all) => !all.some((r) => r !== p && p.startsWith(`${r}/`))).sort();
  lines.push(
    ...finish,
    `${t.rm} -rf "$S"`,
    `${t.find} ${roots.map(q).join(' ')} -exec ${t.touch} -h -d @${action.mtime} {} +`,
    `cd ${q(action.workdir)}`,
    // What this shell put into the environment goes; the step's shell starts as it would locally.
    ...SHELL_VARIABLES.map((v) => (action.env[v] === undefined ? `unset ${v}` : `export ${v}=${q(action.env[v]!)}`)),
    'exec "$@"',
  );
  return lines.join('\n') + '\n';
}
