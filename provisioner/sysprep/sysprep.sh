# kvm-sysprep operations: a POSIX shell library (dash, bash and busybox ash).
# The provisioner appends the calls of the chosen operations and runs the
# script as root in the guest. Every operation reports one line
#   kvm-sysprep: <operation>: <what it did>
# honours DRY_RUN=1 (report, change nothing) and is idempotent.
# ROOT prefixes every path, so the library can be tested on a fake tree;
# commands that act on the running system only run when ROOT is empty.

ROOT=${ROOT:-}
DRY_RUN=${DRY_RUN:-0}

say() { printf 'kvm-sysprep: %s: %s\n' "$1" "$2"; }
live() { [ -z "$ROOT" ]; }
have() { command -v "$1" >/dev/null 2>&1; }
if [ "$DRY_RUN" = 1 ]; then would="would "; else would=""; fi

# remove_paths PATH... removes what exists and prints how many.
remove_paths() {
  n=0
  for p in "$@"; do
    [ -e "$p" ] || [ -L "$p" ] || continue
    n=$((n + 1))
    [ "$DRY_RUN" = 1 ] || rm -rf -- "$p"
  done
  echo "$n"
}

# truncate_files FILE... empties the non-empty regular files and prints how many.
truncate_files() {
  n=0
  for f in "$@"; do
    [ -f "$f" ] && [ -s "$f" ] || continue
    n=$((n + 1))
    [ "$DRY_RUN" = 1 ] || : > "$f"
  done
  echo "$n"
}

# home_dirs prints root's and every regular user's home directory.
home_dirs() {
  echo "$ROOT/root"
  [ -f "$ROOT/etc/passwd" ] || return 0
  awk -F: '$3 >= 1000 && $3 < 65534 { print $6 }' "$ROOT/etc/passwd" | while read -r h; do
    [ -d "$ROOT$h" ] && echo "$ROOT$h"
  done
}

op_machine_id() {
  n=$(truncate_files "$ROOT/etc/machine-id")
  m=$(remove_paths "$ROOT/var/lib/dbus/machine-id")
  say machine-id "${would}empty /etc/machine-id ($n changed), ${would}remove /var/lib/dbus/machine-id ($m removed): systemd makes a new id on first boot"
}

op_ssh_hostkeys() {
  if live && ! have cloud-init && ! ls /usr/lib/systemd/system/sshd-keygen* >/dev/null 2>&1 \
     && ! ls /lib/systemd/system/sshd-keygen* >/dev/null 2>&1 && ! [ -x /etc/init.d/sshd ]; then
    say ssh-hostkeys "skipped: nothing on this image would make new host keys on first boot (no cloud-init, no sshd-keygen)"
    return
  fi
  # shellcheck disable=SC2086
  n=$(remove_paths $ROOT/etc/ssh/ssh_host_*_key $ROOT/etc/ssh/ssh_host_*_key.pub)
  say ssh-hostkeys "${would}remove $n host key files: each clone makes its own"
}

op_cloud_init() {
  if live && ! have cloud-init; then
    say cloud-init "skipped: cloud-init is not installed"
    return
  fi
  # shellcheck disable=SC2086
  n=$(remove_paths $ROOT/var/lib/cloud/instances $ROOT/var/lib/cloud/instance $ROOT/var/lib/cloud/data \
        $ROOT/var/lib/cloud/sem $ROOT/var/lib/cloud/seed $ROOT/var/lib/cloud/handlers \
        $ROOT/var/log/cloud-init.log $ROOT/var/log/cloud-init-output.log)
  say cloud-init "${would}clean cloud-init's state and logs ($n paths): the next boot is a first boot with a new instance"
}

op_logfiles() {
  [ -d "$ROOT/var/log" ] || { say logfiles "skipped: no /var/log"; return; }
  if live && have journalctl && [ "$DRY_RUN" != 1 ]; then
    # journald writes to /run for the rest of this boot, so the journal it
    # would write during shutdown does not land in the image.
    journalctl --relinquish-var >/dev/null 2>&1 || true
  fi
  rotated=$(find "$ROOT/var/log" -xdev -type f \( -name '*.gz' -o -name '*.xz' -o -name '*.[0-9]' -o -name '*.old' -o -name '*.journal' -o -name '*.journal~' \) 2>/dev/null)
  # shellcheck disable=SC2086
  r=$(remove_paths $rotated)
  # shellcheck disable=SC2046
  t=$(truncate_files $(find "$ROOT/var/log" -xdev -type f 2>/dev/null))
  say logfiles "${would}remove $r rotated or journal files and empty $t log files"
}

op_bash_history() {
  files=""
  for h in $(home_dirs); do
    for f in .bash_history .zsh_history .history .sh_history .ash_history .python_history .lesshst .viminfo .mysql_history .psql_history .local/share/fish/fish_history; do
      files="$files $h/$f"
    done
  done
  # shellcheck disable=SC2086
  n=$(remove_paths $files)
  say bash-history "${would}remove $n shell and tool history files"
}

op_package_manager_cache() {
  done_any=""
  if [ -d "$ROOT/var/cache/apt" ] || [ -d "$ROOT/var/lib/apt/lists" ]; then
    live && have apt-get && [ "$DRY_RUN" != 1 ] && apt-get clean >/dev/null 2>&1
    # shellcheck disable=SC2086
    n=$(remove_paths $ROOT/var/cache/apt/*.bin $ROOT/var/cache/apt/archives/*.deb $ROOT/var/cache/apt/archives/partial/* \
          $(find "$ROOT/var/lib/apt/lists" -maxdepth 1 -type f ! -name lock 2>/dev/null))
    done_any="$done_any apt($n)"
  fi
  for pm in dnf yum zypper; do
    if [ -d "$ROOT/var/cache/$pm" ]; then
      live && have $pm && [ "$DRY_RUN" != 1 ] && $pm clean all >/dev/null 2>&1
      # shellcheck disable=SC2086
      n=$(remove_paths $ROOT/var/cache/$pm/*)
      done_any="$done_any $pm($n)"
    fi
  done
  if [ -d "$ROOT/var/cache/apk" ]; then
    # shellcheck disable=SC2086
    n=$(remove_paths $ROOT/var/cache/apk/*)
    done_any="$done_any apk($n)"
  fi
  if [ -z "$done_any" ]; then
    say package-manager-cache "skipped: no apt, dnf, yum, zypper or apk cache found"
  else
    say package-manager-cache "${would}empty the caches of:$done_any"
  fi
}

op_tmp_files() {
  # shellcheck disable=SC2046
  n=$(remove_paths $(find "$ROOT/tmp" "$ROOT/var/tmp" -xdev -mindepth 1 -maxdepth 1 2>/dev/null))
  say tmp-files "${would}remove $n entries from /tmp and /var/tmp"
}

op_dhcp_client_state() {
  # shellcheck disable=SC2086
  n=$(remove_paths $ROOT/var/lib/dhcp/*.leases $ROOT/var/lib/dhcp/dhclient* $ROOT/var/lib/dhclient/* \
        $ROOT/var/lib/NetworkManager/*.lease $ROOT/var/lib/NetworkManager/dhclient* $ROOT/var/lib/udhcpc/* \
        $ROOT/var/lib/wicked/lease*)
  say dhcp-client-state "${would}remove $n DHCP lease files"
}

op_net_persistent() {
  n=$(remove_paths "$ROOT/etc/udev/rules.d/70-persistent-net.rules" "$ROOT/etc/udev/rules.d/75-persistent-net-generator.rules")
  pinned=0
  for f in "$ROOT"/etc/sysconfig/network-scripts/ifcfg-* "$ROOT"/etc/sysconfig/network/ifcfg-* "$ROOT"/etc/NetworkManager/system-connections/*; do
    [ -f "$f" ] || continue
    grep -Eq '^(HWADDR|MACADDR|mac-address)=' "$f" || continue
    pinned=$((pinned + 1))
    [ "$DRY_RUN" = 1 ] || sed -i -E '/^(HWADDR|MACADDR|mac-address)=/d' "$f"
  done
  # cloud-init writes its network files with the build MAC; it writes them
  # again on a new instance, so they can go when cloud-init is there.
  generated=0
  if ! live || have cloud-init; then
    generated=$(remove_paths "$ROOT/etc/netplan/50-cloud-init.yaml" "$ROOT/etc/network/interfaces.d/50-cloud-init" \
                  "$ROOT/etc/network/interfaces.d/50-cloud-init.cfg" "$ROOT/etc/systemd/network/10-cloud-init-"*)
  fi
  say net-persistent "${would}remove $n udev persistent-net rules, unpin $pinned interface files from the build MAC, remove $generated cloud-init network files"
}

op_crash_data() {
  # shellcheck disable=SC2046
  n=$(remove_paths $(find "$ROOT/var/crash" "$ROOT/var/lib/systemd/coredump" -mindepth 1 -maxdepth 1 2>/dev/null))
  say crash-data "${would}remove $n crash dumps"
}

op_random_seed() {
  if live && [ -d /run/systemd/system ] && [ "$DRY_RUN" != 1 ]; then
    # systemd saves a new seed at shutdown; a runtime drop-in (gone at the
    # next boot) stops it for this last shutdown only.
    mkdir -p /run/systemd/system/systemd-random-seed.service.d
    printf '[Service]\nExecStop=\nExecStop=/bin/true\n' > /run/systemd/system/systemd-random-seed.service.d/kvm-sysprep.conf
    systemctl daemon-reload >/dev/null 2>&1 || true
  fi
  n=$(remove_paths "$ROOT/var/lib/systemd/random-seed" "$ROOT/var/lib/urandom/random-seed" "$ROOT/var/lib/random-seed")
  say random-seed "${would}remove $n random seed files: clones must not share entropy"
}

op_utmp() {
  n=$(truncate_files "$ROOT/var/log/wtmp" "$ROOT/var/log/btmp" "$ROOT/var/log/lastlog" "$ROOT/var/run/utmp")
  say utmp "${would}empty $n login records (wtmp, btmp, lastlog, utmp)"
}

# op_ssh_userdir USER... removes the users' authorized keys.
op_ssh_userdir() {
  files=""
  for u in "$@"; do
    h=$(awk -F: -v u="$u" '$1 == u { print $6 }' "$ROOT/etc/passwd" 2>/dev/null)
    [ -n "$h" ] && files="$files $ROOT$h/.ssh/authorized_keys $ROOT$h/.ssh/authorized_keys2"
  done
  # shellcheck disable=SC2086
  n=$(remove_paths $files)
  say ssh-userdir "${would}remove $n authorized_keys files of: $*"
}

# op_user_account USER... removes the users, their homes and sudo rules.
# It runs last: the build's session keeps working until the guest stops.
op_user_account() {
  removed=""
  for u in "$@"; do
    grep -q "^$u:" "$ROOT/etc/passwd" 2>/dev/null || continue
    removed="$removed $u"
    [ "$DRY_RUN" = 1 ] && continue
    if live && have userdel; then
      userdel -f -r "$u" >/dev/null 2>&1 || userdel -f "$u" >/dev/null 2>&1
    elif live && have deluser; then
      deluser --remove-home "$u" >/dev/null 2>&1 || deluser "$u" >/dev/null 2>&1
    else
      for db in passwd shadow group gshadow; do
        [ -f "$ROOT/etc/$db" ] && sed -i "/^$u:/d" "$ROOT/etc/$db"
      done
    fi
    for f in "$ROOT"/etc/sudoers.d/*; do
      [ -f "$f" ] && grep -q "^$u[[:space:]]" "$f" && sed -i "/^$u[[:space:]]/d" "$f"
    done
  done
  say user-account "${would}remove users:${removed:- none found}"
}

op_trim() {
  if ! live; then
    say trim "skipped: not on a live system"
    return
  fi
  if [ "$DRY_RUN" = 1 ]; then
    say trim "would discard unused blocks of every mounted filesystem"
    return
  fi
  sync
  if have fstrim && out=$(fstrim -av 2>/dev/null) && [ -n "$out" ]; then
    say trim "fstrim: $(echo "$out" | tr '\n' ';' | sed 's/;$//')"
    return
  fi
  # No discard support: zero free space so the image compresses it away.
  for mnt in $(awk '$3 ~ /^(ext[234]|xfs|btrfs)$/ { print $2 }' /proc/mounts); do
    dd if=/dev/zero of="$mnt/.kvm-sysprep-zero" bs=1M 2>/dev/null || true
    sync
    rm -f "$mnt/.kvm-sysprep-zero"
  done
  say trim "discard unsupported: zero-filled free space instead"
}
