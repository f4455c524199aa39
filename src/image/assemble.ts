import { KILN_INPUTS_DIR, KILN_WORK_DIR } from '../plan/index.js';
import { MERGED_USR_DIRS, PACKAGES_REQUIRED, PACKAGES_REST } from './rootfs.js';

/**
 * The sandbox profile exception the assembly step runs under (sandbox/profile.json
 * `exceptions`): root, plus only the capabilities dpkg needs to give files their owners.
 * No other step can name it.
 */
export const DEBIAN_ASSEMBLY_EXCEPTION = 'debian-assembly';

/** Version of the assembly procedure; it is part of the script, so of the action key. */
export const DEBIAN_ASSEMBLY_FORMAT = 'debian-assembly/v4';

/** The input the assembly step installs from: the .debs and their lists (`debianPackagesTree`). */
export const DEBIAN_PACKAGES_INPUT = 'debs';

/** Paths taken out of the configured rootfs: the container's own mounts and docker's files. */
const NOT_TAKEN = ['kiln', 'proc', 'sys', 'dev', 'tmp', '.dockerenv'];
/** The merged-/usr links the assembly step made, one per line (in the step's scratch). */
const USR_LINKS_MADE = `${KILN_WORK_DIR}/usr-links`;

/**
 * Before the packages outside the base go in: every merged-/usr folder not there yet is linked
 * into /usr, as debootstrap links them, and listed in USR_LINKS_MADE.
 */
export const LINK_MERGED_USR = `for top in ${MERGED_USR_DIRS.join(' ')}; do
  if [ ! -e "/$top" ] && [ ! -L "/$top" ]; then ln -s "usr/$top" "/$top"; mkdir -p "/usr/$top"; echo "$top"; fi
done > ${USR_LINKS_MADE}
`;

/**
 * Once every package is installed: a link of LINK_MERGED_USR that no package's file list names
 * a path under (`/lib32/...`) is taken away with its empty /usr folder, so the image links
 * what its packages use and nothing more. A folder something else wrote into stays linked.
 */
export const UNLINK_UNUSED_USR = `while read -r top; do
  if ! grep -qs "^/$top/" /var/lib/dpkg/info/*.list && rmdir "/usr/$top" 2>/dev/null; then rm "/$top"; fi
done < ${USR_LINKS_MADE}
`;

/**
 * Stage 2, run inside the base tree as root with no network: debootstrap's second stage,
 * condensed. The .debs are read from the `debs` input. dpkg is feigned installed so that the
 * core packages install in dependency order (base-passwd, base-files, dpkg, libc6, perl-base,
 * mawk), then the required set is unpacked and configured, then the rest. Maintainer scripts
 * run here, never on the host. dpkg writes every file and folder of the packages outside the
 * base itself, giving them their owners (hence the exception's CHOWN, FOWNER and
 * DAC_OVERRIDE). Before the rest goes in, the merged-/usr folders the base does not link yet
 * (lib32, libx32...) are linked, as debootstrap links them; a link that no installed package's
 * file list names is taken away again, so the image links exactly the folders its packages use.
 * dpkg skips its fsync calls (`--force-unsafe-io`): the result is read back from the container
 * once it has exited, so no crash can tear it. Finally the traces of time and of the host
 * (dpkg's and update-alternatives' logs, -old backups, ldconfig's aux-cache with inode numbers,
 * docker's hosts files) are removed and the root filesystem is linked into $KILN_OUT: dpkg wrote
 * every file of it in this container, so a hard link copies no data. /etc (where the engine
 * bind-mounts its hosts files, which cannot be linked) and any folder holding a file the kernel
 * refuses to link (another user's, under protected_hardlinks) are copied instead.
 */
export const DEBIAN_ASSEMBLY_SCRIPT = `# ${DEBIAN_ASSEMBLY_FORMAT}
export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true
cd ${KILN_INPUTS_DIR}/${DEBIAN_PACKAGES_INPUT}
debs() { sed 's/$/.deb/' "$1"; }
dpkg() { command dpkg --force-unsafe-io "$@"; }
printf 'Package: dpkg\\nVersion: %s\\nMaintainer: unknown\\nStatus: install ok installed\\n\\n' "$(dpkg-deb -f dpkg.deb Version)" >> /var/lib/dpkg/status
touch /var/lib/dpkg/info/dpkg.list
if [ -f mawk.deb ]; then ln -sf mawk /etc/alternatives/awk; ln -sf ../../etc/alternatives/awk /usr/bin/awk; fi
for p in base-passwd base-files dpkg libc6 perl-base; do
  if [ -f $p.deb ]; then dpkg --force-depends --install $p.deb; fi
done
if [ -f mawk.deb ]; then rm -f /usr/bin/awk; dpkg --force-depends --install mawk.deb; fi
dpkg --force-depends --unpack $(debs ${PACKAGES_REQUIRED})
printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
dpkg --configure --pending --force-configure-any --force-depends
${LINK_MERGED_USR}# The rest goes in by name, not in dependency order: a package whose Pre-Depends is unpacked
# later in the list (python3 before python3-minimal) is refused. As debootstrap repeats its base
# install, configure what is there and unpack again; each pass settles one more level.
if [ -s ${PACKAGES_REST} ]; then
  pass=1
  until dpkg --force-overwrite --force-confold --skip-same-version --unpack $(debs ${PACKAGES_REST}); do
    [ $pass -lt 5 ] || exit 1
    pass=$((pass + 1))
    dpkg --force-confold --configure --pending || true
  done
fi
dpkg --force-confold --skip-same-version --configure -a
${UNLINK_UNUSED_USR}rm -f /usr/sbin/policy-rc.d
dpkg --audit
cd /
rm -f /var/log/dpkg.log /var/log/alternatives.log /var/cache/ldconfig/aux-cache /var/lib/dpkg/*-old /var/cache/debconf/*-old
for d in /* /.[!.]*; do
  case "\${d#/}" in ${NOT_TAKEN.join('|')}) continue ;; esac
  [ -e "$d" ] || [ -L "$d" ] || continue
  if [ "$d" = /etc ] || ! cp -lRP "$d" "$KILN_OUT/" 2>/dev/null; then
    if [ -e "$KILN_OUT/\${d#/}" ] || [ -L "$KILN_OUT/\${d#/}" ]; then chmod -R u+rwX "$KILN_OUT/\${d#/}"; rm -rf "$KILN_OUT/\${d#/}"; fi
    cp -a "$d" "$KILN_OUT/"
  fi
done
rm -f "$KILN_OUT/etc/hostname" "$KILN_OUT/etc/hosts" "$KILN_OUT/etc/resolv.conf"
mkdir -p "$KILN_OUT/proc" "$KILN_OUT/sys" "$KILN_OUT/dev" "$KILN_OUT/tmp"
`;
