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

# uses_systemd tells whether systemd is the guest's init.
uses_systemd() {
  if live; then
    [ -d /run/systemd/system ]
  else
    [ -e "$ROOT/usr/lib/systemd/systemd" ] || [ -e "$ROOT/lib/systemd/systemd" ]
  fi
}

# machine-id(5): "uninitialized" (systemd 247 and later) makes the next boot
# a first boot, so ConditionFirstBoot=yes units run and systemd commits a
# new id; an empty file would give a new id but no first boot. Older
# systemd reads "uninitialized" as an invalid id and makes a new one too.
op_machine_id() {
  mid="$ROOT/etc/machine-id"
  dbus="$ROOT/var/lib/dbus/machine-id"
  if ! uses_systemd; then
    # Without systemd, dbus-uuidgen --ensure makes the ids again; it
    # rejects an empty or invalid file but creates a missing one.
    n=$(remove_paths "$mid" "$dbus")
    say machine-id "${would}remove $n machine-id files: no systemd, dbus-uuidgen makes new ones at boot"
    return
  fi
  changed=0
  if [ -L "$mid" ] || [ "$(cat "$mid" 2>/dev/null)" != uninitialized ]; then
    changed=1
    if [ "$DRY_RUN" != 1 ]; then
      # A boot that could not write /etc leaves the id bind-mounted over
      # the file; writing there would miss the disk.
      if live && awk '$5 == "/etc/machine-id" { found = 1 } END { exit !found }' /proc/self/mountinfo; then
        umount /etc/machine-id
      fi
      # A link (to the D-Bus copy, on some old systems) would make the
      # link below a loop: the file becomes a regular one.
      [ -L "$mid" ] && rm -f "$mid"
      printf 'uninitialized\n' > "$mid"
    fi
  fi
  # systemd reads a regular /var/lib/dbus/machine-id as the id to keep, so
  # it becomes a link to /etc/machine-id, as D-Bus expects on systemd.
  linked=0
  if [ "$(readlink "$dbus" 2>/dev/null)" != /etc/machine-id ] && { [ -e "$dbus" ] || [ -L "$dbus" ] || [ -d "${dbus%/*}" ]; }; then
    linked=1
    [ "$DRY_RUN" = 1 ] || { rm -f "$dbus"; ln -s /etc/machine-id "$dbus"; }
  fi
  say machine-id "${would}write \"uninitialized\" to /etc/machine-id ($changed changed), ${would}link /var/lib/dbus/machine-id to it ($linked changed): the next boot is a first boot with a new id"
}

op_ssh_hostkeys() {
  if live && ! have cloud-init && ! ls /usr/lib/systemd/system/sshd-keygen* >/dev/null 2>&1 \
     && ! ls /lib/systemd/system/sshd-keygen* >/dev/null 2>&1 && ! [ -x /etc/init.d/sshd ]; then
    say ssh-hostkeys "skipped: nothing on this image would make new host keys on first boot (no cloud-init, no sshd-keygen)"
    return
  fi
  # shellcheck disable=SC2086
  n=$(remove_paths $ROOT/etc/ssh/ssh_host_*)
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
  # Logs and caches outside /var/log: installer logs and kickstarts (which
  # hold the root password hash), logrotate's state, per-user caches, and
  # the certificates of the Pegasus CIM server.
  # shellcheck disable=SC2046,SC2086
  o=$(remove_paths "$ROOT/root/anaconda-ks.cfg" "$ROOT/root/anaconda-post.log" "$ROOT/root/initial-setup-ks.cfg" \
        "$ROOT/root/original-ks.cfg" "$ROOT/root/install.log" "$ROOT/root/install.log.syslog" \
        "$ROOT/var/lib/logrotate.status" "$ROOT/var/lib/logrotate/status" "$ROOT/var/named/data/named.run" \
        $ROOT/etc/Pegasus/*.cnf $ROOT/etc/Pegasus/*.crt $ROOT/etc/Pegasus/*.csr $ROOT/etc/Pegasus/*.pem $ROOT/etc/Pegasus/*.srl \
        $(find "$ROOT/var/cache/gdm" "$ROOT/var/cache/fontconfig" "$ROOT/var/cache/man" "$ROOT/var/lib/AccountsService/users" \
            "$ROOT/var/lib/fprint" -mindepth 1 -maxdepth 1 2>/dev/null))
  say logfiles "${would}remove $r rotated or journal files, empty $t log files, remove $o installer logs, kickstarts and caches elsewhere"
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
  # package manager:cache directory (zypper's is /var/cache/zypp).
  for pair in dnf:dnf dnf5:libdnf5 yum:yum zypper:zypp; do
    pm=${pair%%:*} dir="$ROOT/var/cache/${pair#*:}"
    if [ -d "$dir" ]; then
      live && have "$pm" && [ "$DRY_RUN" != 1 ] && "$pm" clean all >/dev/null 2>&1
      # shellcheck disable=SC2086
      n=$(remove_paths $dir/*)
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
  # /var/lib/dhcp also holds the DHCP server's leases: dhcp-server-state's.
  # shellcheck disable=SC2086
  n=$(remove_paths $ROOT/var/lib/dhcp/dhclient* $ROOT/var/lib/dhclient/* $ROOT/var/lib/dhcpcd/* \
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
  n=$(remove_paths $(find "$ROOT/var/crash" "$ROOT/var/log/dump" "$ROOT/var/lib/systemd/coredump" "$ROOT/var/lib/apport/coredump" \
        -mindepth 1 -maxdepth 1 2>/dev/null))
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

# op_ssh_userdir removes the .ssh directory of root and of every user:
# keys provisioning authorized, private keys and known_hosts. The build's
# session stays up: sshd checked its key when it connected.
op_ssh_userdir() {
  dirs=""
  # shellcheck disable=SC2046
  for h in $(home_dirs) $(find "$ROOT/home" -mindepth 1 -maxdepth 1 -type d 2>/dev/null); do
    case " $dirs " in *" $h/.ssh "*) continue ;; esac
    dirs="$dirs $h/.ssh"
  done
  # shellcheck disable=SC2086
  n=$(remove_paths $dirs)
  say ssh-userdir "${would}remove $n .ssh directories (root and every user)"
}

# files_under DIR... lists what is not a directory under the directories,
# staying on their filesystems.
files_under() { find "$@" -xdev ! -type d 2>/dev/null; }

op_passwd_backups() {
  n=$(remove_paths "$ROOT/etc/passwd-" "$ROOT/etc/shadow-" "$ROOT/etc/group-" "$ROOT/etc/gshadow-" \
        "$ROOT/etc/subuid-" "$ROOT/etc/subgid-" "$ROOT/var/backups/passwd.bak" "$ROOT/var/backups/shadow.bak" \
        "$ROOT/var/backups/group.bak" "$ROOT/var/backups/gshadow.bak")
  say passwd-backups "${would}remove $n backups of the account files (/etc/shadow- and the like, /var/backups/*.bak)"
}

op_backup_files() {
  # shellcheck disable=SC2046
  n=$(remove_paths $(find "$ROOT/etc" "$ROOT/root" "$ROOT/home" "$ROOT/srv" "$ROOT/tmp" "$ROOT/var" -xdev ! -type d \
        \( -name '*.bak' -o -name '*~' \) 2>/dev/null))
  say backup-files "${would}remove $n *.bak and *~ files under /etc, /root, /home, /srv, /tmp and /var"
}

op_cron_spool() {
  # Debian keeps crontabs and at jobs under /var/spool/cron, the RHEL
  # family under /var/spool/cron and /var/spool/at.
  # shellcheck disable=SC2046
  n=$(remove_paths $(files_under "$ROOT/var/spool/cron" "$ROOT/var/spool/at" "$ROOT/var/spool/atjobs" "$ROOT/var/spool/atspool" | grep -v '/\.SEQ$'))
  # at numbers its jobs from .SEQ: the clones start from zero.
  for seq in "$ROOT/var/spool/cron/atjobs/.SEQ" "$ROOT/var/spool/atjobs/.SEQ" "$ROOT/var/spool/at/.SEQ"; do
    if [ -f "$seq" ] && [ "$DRY_RUN" != 1 ]; then printf '00000\n' > "$seq"; fi
  done
  say cron-spool "${would}remove $n user crontabs and at jobs"
}

op_mail_spool() {
  spool="$ROOT/var/spool/mail/*"
  # Debian's /var/spool/mail is a link to /var/mail.
  [ -L "$ROOT/var/spool/mail" ] && spool=""
  # shellcheck disable=SC2086
  n=$(remove_paths $spool $ROOT/var/mail/*)
  say mail-spool "${would}remove $n mailboxes from the local mail spool"
}

op_abrt_data() {
  # shellcheck disable=SC2046
  n=$(remove_paths $(find "$ROOT/var/spool/abrt" "$ROOT/var/tmp/abrt" -mindepth 1 -maxdepth 1 2>/dev/null))
  say abrt-data "${would}remove $n ABRT crash reports"
}

op_blkid_tab() {
  n=$(remove_paths "$ROOT/etc/blkid/blkid.tab" "$ROOT/etc/blkid/blkid.tab.old" "$ROOT/etc/blkid.tab" "$ROOT/etc/blkid.tab.old" \
        "$ROOT/var/run/blkid.tab" "$ROOT/var/run/blkid.tab.old")
  say blkid-tab "${would}remove $n blkid cache files"
}

op_dhcp_server_state() {
  # ISC dhcpd does not start without its lease file: empty it, drop the backups.
  t=$(truncate_files "$ROOT/var/lib/dhcpd/dhcpd.leases" "$ROOT/var/lib/dhcpd/dhcpd6.leases" \
        "$ROOT/var/lib/dhcp/dhcpd.leases" "$ROOT/var/lib/dhcp/dhcpd6.leases")
  # shellcheck disable=SC2086
  r=$(remove_paths $ROOT/var/lib/dhcpd/dhcpd*.leases~ $ROOT/var/lib/dhcp/dhcpd*.leases~ $ROOT/var/lib/kea/kea-leases*)
  say dhcp-server-state "${would}empty $t DHCP server lease files, remove $r backups and Kea lease files"
}

op_dovecot_data() {
  # shellcheck disable=SC2046
  n=$(remove_paths $(find "$ROOT/var/lib/dovecot" -mindepth 1 -maxdepth 1 ! -type d 2>/dev/null))
  say dovecot-data "${would}remove $n Dovecot data files"
}

op_ipa_client() {
  # shellcheck disable=SC2046
  n=$(remove_paths "$ROOT/etc/ipa/ca.crt" "$ROOT/etc/ipa/default.conf" \
        $(files_under "$ROOT/var/lib/ipa-client/sysrestore" "$ROOT/var/lib/ipa-client/pki"))
  c=$(remove_paths "$ROOT/etc/pki/ca-trust/source/anchors/ipa-ca.crt" "$ROOT/usr/local/share/ca-certificates/ipa-ca.crt" \
        "$ROOT/etc/pki/ca-trust/source/ipa.p11-kit")
  if [ "$c" -gt 0 ] && live && [ "$DRY_RUN" != 1 ]; then
    if have update-ca-trust; then update-ca-trust extract >/dev/null 2>&1
    elif have update-ca-certificates; then update-ca-certificates >/dev/null 2>&1
    fi
  fi
  say ipa-client "${would}remove $n IPA enrolment files and $c IPA CA certificates (the IPA server is not told)"
}

op_kerberos_hostkeytab() {
  n=$(remove_paths "$ROOT/etc/krb5.keytab")
  say kerberos-hostkeytab "${would}remove $n Kerberos host keytab"
}

op_lvm_system_devices() {
  n=$(remove_paths "$ROOT/etc/lvm/devices/system.devices")
  say lvm-system-devices "${would}remove $n LVM devices files: clones have other disk WWIDs"
}

# RHEL-family ifcfg files pin the build's hostname and MAC.
ifcfg_drop() {
  key=$1
  changed=0
  for f in "$ROOT"/etc/sysconfig/network-scripts/ifcfg-*; do
    [ -f "$f" ] && grep -Eq "^($key)=" "$f" || continue
    changed=$((changed + 1))
    [ "$DRY_RUN" = 1 ] || sed -i -E "/^($key)=/d" "$f"
  done
  echo "$changed"
}

op_net_hostname() {
  n=$(ifcfg_drop 'HOSTNAME|DHCP_HOSTNAME')
  say net-hostname "${would}remove HOSTNAME and DHCP_HOSTNAME from $n ifcfg files"
}

op_net_nmconn() {
  # The RHEL family's NetworkManager makes a DHCP profile for every NIC
  # without one, and cloud-init writes its own again; elsewhere the
  # profiles may be the only network setup, so they stay.
  if ! [ -f "$ROOT/etc/redhat-release" ]; then
    say net-nmconn "skipped: not a RHEL-family system"
    return
  fi
  # shellcheck disable=SC2086
  n=$(remove_paths $ROOT/etc/NetworkManager/system-connections/*.nmconnection)
  say net-nmconn "${would}remove $n NetworkManager connection profiles"
}

op_pacct_log() {
  # The kernel may hold pacct open while accounting is on: empty it, drop
  # the rotated ones.
  t=$(truncate_files "$ROOT/var/account/pacct" "$ROOT/var/log/account/pacct")
  # shellcheck disable=SC2086
  r=$(remove_paths $ROOT/var/account/pacct?* $ROOT/var/log/account/pacct?*)
  say pacct-log "${would}empty $t process accounting files, remove $r rotated ones"
}

op_pam_data() {
  files=$(find "$ROOT/var/lib/faillock" -mindepth 1 -maxdepth 1 2>/dev/null)
  # A /var/run linked to the tmpfs /run holds nothing that reaches the image.
  if ! [ -L "$ROOT/var/run" ]; then
    # shellcheck disable=SC2046
    files="$files $(find "$ROOT/var/run/console" "$ROOT/var/run/faillock" "$ROOT/var/run/sepermit" -mindepth 1 -maxdepth 1 2>/dev/null)"
  fi
  # shellcheck disable=SC2086
  n=$(remove_paths $files)
  say pam-data "${would}remove $n PAM console, faillock and sepermit records"
}

op_puppet_data_log() {
  # shellcheck disable=SC2046
  n=$(remove_paths $(files_under "$ROOT/var/log/puppet" "$ROOT/var/log/puppetlabs" "$ROOT/opt/puppetlabs/puppet/cache" \
        "$ROOT/etc/puppetlabs/puppet/ssl") $(find "$ROOT/var/lib/puppet" -xdev -mindepth 2 ! -type d 2>/dev/null))
  say puppet-data-log "${would}remove $n Puppet data, certificate and log files"
}

op_rh_subscription_manager() {
  # shellcheck disable=SC2046
  n=$(remove_paths $(find "$ROOT/etc/pki/consumer" "$ROOT/etc/pki/entitlement" "$ROOT/var/lib/rhsm/cache" "$ROOT/var/lib/rhsm/facts" \
        -mindepth 1 -maxdepth 1 2>/dev/null))
  say rh-subscription-manager "${would}remove $n subscription-manager identity, entitlement and cache files (the registration is not released)"
}

op_rhn_systemid() {
  n=$(remove_paths "$ROOT/etc/sysconfig/rhn/systemid" "$ROOT/etc/sysconfig/rhn/osad-auth.conf")
  say rhn-systemid "${would}remove $n RHN system ID files"
}

op_rpm_db() {
  # shellcheck disable=SC2086
  n=$(remove_paths $ROOT/var/lib/rpm/__db.* $ROOT/usr/lib/sysimage/rpm/__db.*)
  say rpm-db "${would}remove $n host-specific RPM database environment files (rpm makes them again)"
}

op_samba_db_log() {
  # shellcheck disable=SC2046
  n=$(remove_paths $(find "$ROOT/var/log/samba" "$ROOT/var/lib/samba" -xdev -mindepth 1 -maxdepth 2 ! -type d 2>/dev/null))
  say samba-db-log "${would}remove $n Samba database and log files"
}

op_smolt_uuid() {
  n=$(remove_paths "$ROOT/etc/sysconfig/hw-uuid" "$ROOT/etc/smolt/uuid" "$ROOT/etc/smolt/hw-uuid")
  say smolt-uuid "${would}remove $n Smolt hardware UUID files"
}

op_sssd_db_log() {
  # shellcheck disable=SC2046
  n=$(remove_paths $(find "$ROOT/var/log/sssd" "$ROOT/var/lib/sss/db" -mindepth 1 -maxdepth 1 ! -type d 2>/dev/null))
  say sssd-db-log "${would}remove $n SSSD cache databases and logs"
}

op_yum_uuid() {
  n=$(remove_paths "$ROOT/var/lib/yum/uuid" "$ROOT/var/lib/zypp/AnonymousUniqueId")
  say yum-uuid "${would}remove $n yum and zypper installation UUIDs (made again on next use)"
}

# local_filesystems prints the device and mount point of each writable
# local disk filesystem, once per device.
local_filesystems() {
  awk '$3 ~ /^(ext[234]|xfs|btrfs|f2fs|vfat)$/ && $4 ~ /(^|,)rw(,|$)/ && !seen[$1]++ { print $1, $2 }' /proc/mounts
}

# fill_free_space DEVICE MOUNT writes zeros over the free space of the
# filesystem and prints how many MiB it wrote.
fill_free_space() {
  dir="${2%/}/.kvm-sysprep-scrub"
  mkdir -p "$dir" 2>/dev/null || { echo 0; return; }
  # ext4 holds clusters back from every writer, root included (up to
  # 16 MiB), and the free fragments between live files, where deleted
  # secrets sit, are what stays free: lift the reserve while filling.
  dev=$(readlink -f "$1" 2>/dev/null)
  reserve="/sys/fs/ext4/${dev##*/}/reserved_clusters"
  held=""
  if [ -w "$reserve" ]; then held=$(cat "$reserve"); echo 0 > "$reserve"; fi
  # A large file first; then what the large file's allocations could not
  # use: a file of small writes, then small files.
  dd if=/dev/zero of="$dir/large" bs=1M 2>/dev/null
  sync
  dd if=/dev/zero of="$dir/small-writes" bs=4k 2>/dev/null
  sync
  i=0
  while [ "$i" -lt 256 ] && dd if=/dev/zero of="$dir/small$i" bs=4k count=1 2>/dev/null; do i=$((i + 1)); done
  sync
  kib=$(du -sk "$dir" 2>/dev/null | cut -f1)
  rm -rf "$dir"
  sync
  [ -n "$held" ] && echo "$held" > "$reserve"
  echo $((${kib:-0} / 1024))
}

# op_scrub_free_space overwrites free space with zeros: fstrim only
# discards whole free clusters of the image, so a deleted secret that
# shares a cluster with live data stays; zeros overwrite it, and the
# drive's detect-zeroes turns them into holes, so the image stays small.
op_scrub_free_space() {
  if ! live; then
    say scrub-free-space "skipped: not on a live system"
    return
  fi
  if [ "$DRY_RUN" = 1 ]; then
    say scrub-free-space "would zero the free space of: $(local_filesystems | awk '{ printf "%s ", $2 }')"
    return
  fi
  report=""
  # shellcheck disable=SC2046
  set -- $(local_filesystems)
  while [ $# -ge 2 ]; do
    report="$report $2($(fill_free_space "$1" "$2") MiB)"
    shift 2
  done
  SCRUBBED=1
  say scrub-free-space "zeroed free space:${report:- no local filesystem}"
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
  # userdel leaves /etc/shadow- and the like: copies that still hold the
  # removed users, written after passwd-backups ran.
  if [ -n "$removed" ] && [ "$DRY_RUN" != 1 ]; then
    remove_paths "$ROOT/etc/passwd-" "$ROOT/etc/shadow-" "$ROOT/etc/group-" "$ROOT/etc/gshadow-" \
      "$ROOT/etc/subuid-" "$ROOT/etc/subgid-" >/dev/null
  fi
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
  if [ "${SCRUBBED:-0}" = 1 ]; then
    say trim "discard unsupported: scrub-free-space already zeroed the free space"
    return
  fi
  # No discard support: zero free space so the image compresses it away.
  # shellcheck disable=SC2046
  set -- $(local_filesystems)
  while [ $# -ge 2 ]; do
    fill_free_space "$1" "$2" >/dev/null
    shift 2
  done
  say trim "discard unsupported: zero-filled free space instead"
}
