// Maintained recipes, cold and warm (issue: real software, item 4).
//   node dist/bench/recipes.js
// Needs apt's deb and deb-src sources (scripts/setup-host.sh) and network for lock and fetch.
// 1. `kiln lock` of recipes/toolchain (a copy: the committed lock is not touched).
// 2. `kiln build recipes/toolchain --locked` in a fresh store (cold), then again (warm no-op).
// 3. `kiln build recipes/hello --locked` in a fresh store (cold: fetch + toolchain assembly +
//    steps), in the toolchain's store (toolchain cached), then again (warm no-op).
// 4. Store size after toolchain and hello in one store.
// 5. hello's steps as a plain `docker build` of an equivalent Dockerfile FROM the toolchain image
//    kiln assembled (`--no-cache`): the steps alone, side by side with kiln's steps-only run.
//    The toolchain image itself has no plain Dockerfile equivalent here: without a registry
//    there is no base image holding dpkg to start from (kiln bootstraps it from .debs).
// Note: the Docker engine keeps images kiln imported (kiln.local/tree:<digest>), so "cold" is
// a cold store, not a cold engine; BENCH_DROP_IMAGES=1 removes the toolchain's images first.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, repoRoot } from '../test/helpers/index.js';
import { fmt, timeCommand } from './util.js';

const root = repoRoot();
const kiln = join(root, 'bin', 'kiln.js');
const run = (args: string[], store: string) => timeCommand(process.execPath, [kiln, ...args], { env: { ...process.env, KILN_STORE: store } });
const du = (path: string) => Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

const { dir, cleanup } = await makeTempDir('kiln-bench-recipes-');
try {
  // Printed as measured: a later failure (say, of docker build) keeps the earlier numbers.
  const rows = { push: ([what, ms]: [string, number]) => console.log(`  ${what.padEnd(46)} ${fmt(ms).padStart(10)}`) };
  // 1. lock, in a copy of the recipe (no kiln.lock yet)
  const lockDir = join(dir, 'toolchain-copy');
  cpSync(join(root, 'recipes', 'toolchain', 'kiln.yaml'), join(lockDir, 'kiln.yaml'), { recursive: true });
  rows.push(['kiln lock recipes/toolchain', run(['lock', lockDir], join(dir, 'store-lock'))]);

  if (process.env.BENCH_DROP_IMAGES === '1') {
    const images = execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', 'kiln.local/tree'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const image of images) spawnSync('docker', ['rmi', image], { stdio: 'ignore' });
  }

  // 2. toolchain cold, warm
  const store = join(dir, 'store');
  const toolchain = join(root, 'recipes', 'toolchain');
  rows.push(['toolchain build, cold store', run(['build', toolchain, '--locked', '--out', join(dir, 'out-toolchain')], store)]);
  rows.push(['toolchain build, warm (no-op)', run(['build', toolchain, '--locked', '--out', join(dir, 'out-toolchain')], store)]);

  // 3. hello cold (fresh store), with the toolchain cached, warm
  const hello = join(root, 'recipes', 'hello');
  rows.push(['hello build, cold store (toolchain included)', run(['build', hello, '--locked', '--out', join(dir, 'out-hello-cold')], join(dir, 'store-hello'))]);
  rows.push(['hello build, toolchain cached', run(['build', hello, '--locked', '--out', join(dir, 'out-hello')], store)]);
  rows.push(['hello build, warm (no-op)', run(['build', hello, '--locked', '--out', join(dir, 'out-hello')], store)]);
  rows.push(['hello build --no-cache (image assembled again)', run(['build', hello, '--locked', '--no-cache', '--out', join(dir, 'out-hello')], store)]);
  const storeBytes = du(store);
  console.log(`  store after toolchain + hello                  ${mib(storeBytes).padStart(10)}`);

  // 5. docker build of the same steps FROM the toolchain image kiln assembled.
  const summary = JSON.parse(readFileSync(join(dir, 'out-hello', 'build.json'), 'utf8')) as { images: Record<string, { tree: string }> };
  const image = `kiln.local/tree:${summary.images.toolchain!.tree.slice('sha256:'.length)}`;
  const ctx = join(dir, 'docker-ctx');
  execFileSync('sh', ['-c', `mkdir -p ${ctx} && cd ${ctx} && apt-get source -q --download-only hello=2.10-3 >/dev/null 2>&1 && dpkg-source -x hello_2.10-3.dsc src >/dev/null 2>&1`]);
  writeFileSync(
    join(ctx, 'Dockerfile'),
    `FROM ${image}
ENV SOURCE_DATE_EPOCH=1700000000 TZ=UTC LANG=C LC_ALL=C HOME=/kiln/work
COPY src /kiln/inputs/src/hello-2.10
RUN mkdir -p /kiln/work /kiln/out && chown 1000:1000 /kiln/work /kiln/out && chmod 1777 /tmp && find /kiln/inputs -exec touch -h -d @1700000000 {} +
USER 1000:1000
WORKDIR /kiln/work
RUN cp -R --preserve=timestamps /kiln/inputs/src/hello-2.10 deb && chmod -R u+w deb && cd deb && unset SOURCE_DATE_EPOCH && dpkg-buildpackage -us -uc -b -rfakeroot && cp ../hello_*.deb /kiln/out/
RUN cp -R --preserve=timestamps /kiln/inputs/src/hello-2.10 tb && chmod -R u+w tb && cd tb && ./configure --prefix=/usr && make && make install DESTDIR=/kiln/work/stage && tar -C /kiln/work/stage -czf /kiln/out/hello-2.10-amd64.tar.gz .
RUN mkdir root && dpkg-deb -x /kiln/out/hello_2.10-3_amd64.deb root && root/usr/bin/hello > /kiln/out/greeting.txt
`,
  );
  const tag = 'kiln-bench-hello:latest';
  // The classic builder: this engine has no buildx component.
  const dockerMs = timeCommand('docker', ['build', '--no-cache', '--network', 'none', '-q', '-t', tag, ctx], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
  spawnSync('docker', ['rmi', tag], { stdio: 'ignore' });
  rows.push(['docker build --no-cache of the same steps', dockerMs]);

} finally {
  await cleanup();
}
