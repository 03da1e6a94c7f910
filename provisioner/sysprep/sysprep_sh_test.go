package sysprep

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGuest lays out a dirty Debian-style guest filesystem under a
// temporary root.
func fakeGuest(t *testing.T) string {
	t.Helper()
	return writeTree(t, map[string]string{
		"usr/lib/systemd/systemd":                   "",
		"etc/machine-id":                            "0123456789abcdef0123456789abcdef\n",
		"var/lib/dbus/machine-id":                   "0123456789abcdef0123456789abcdef\n",
		"etc/ssh/ssh_host_ed25519_key":              "private",
		"etc/ssh/ssh_host_ed25519_key.pub":          "public",
		"etc/ssh/sshd_config":                       "PermitRootLogin no\n",
		"var/lib/cloud/instances/i-123/user-data":   "#cloud-config\n",
		"var/lib/cloud/data/instance-id":            "i-123\n",
		"var/log/syslog":                            "Nov 22 secret stuff\n",
		"var/log/syslog.1":                          "old\n",
		"var/log/apt/history.log.2.gz":              "gz",
		"var/log/journal/abc/system.journal":        "journal",
		"var/log/wtmp":                              "login records",
		"root/.bash_history":                        "ls\n",
		"home/packer/.bash_history":                 "sudo ls\n",
		"home/packer/.ssh/authorized_keys":          "ssh-ed25519 AAAA packer_temp\n",
		"home/ops/.ssh/authorized_keys":             "ssh-ed25519 BBBB ops\n",
		"var/cache/apt/archives/nginx.deb":          "deb",
		"var/cache/apt/pkgcache.bin":                "bin",
		"var/lib/apt/lists/deb.debian.org_Packages": "Package: x\n",
		"tmp/build-artifact":                        "x",
		"var/tmp/scratch/file":                      "x",
		"var/lib/dhcp/dhclient.eth0.leases":         "lease",
		"etc/udev/rules.d/70-persistent-net.rules":  "SUBSYSTEM==net",
		"etc/sysconfig/network-scripts/ifcfg-eth0":  "DEVICE=eth0\nHWADDR=52:54:00:12:34:56\nBOOTPROTO=dhcp\n",
		"etc/netplan/50-cloud-init.yaml":            "network: {}\n",
		"var/crash/core.1":                          "core",
		"var/lib/systemd/random-seed":               "seed",
		"etc/passwd":                                "root:x:0:0:root:/root:/bin/bash\npacker:x:1000:1000::/home/packer:/bin/bash\nops:x:1001:1001::/home/ops:/bin/bash\n",
		"etc/shadow":                                "root:*:1::::::\npacker:!:1::::::\nops:!:1::::::\n",
		"etc/group":                                 "root:x:0:\npacker:x:1000:\nops:x:1001:\n",
		"etc/sudoers.d/90-cloud-init-users":         "packer ALL=(ALL) NOPASSWD:ALL\n",
		// Left by provisioning: keys, backups with hashes, spools.
		"root/.ssh/authorized_keys":            "ssh-ed25519 CCCC provisioning\n",
		"home/packer/.ssh/id_ed25519":          "PRIVATE KEY",
		"home/packer/.ssh/known_hosts":         "git.example.com ssh-ed25519 DDDD\n",
		"etc/shadow-":                          "root:$6$hash:1::::::\n",
		"etc/gshadow-":                         "root:*::\n",
		"etc/passwd-":                          "root:x:0:0:root:/root:/bin/bash\n",
		"var/backups/shadow.bak":               "root:$6$hash:1::::::\n",
		"etc/nginx/nginx.conf~":                "old config",
		"etc/ssh/sshd_config.bak":              "old config",
		"root/notes.bak":                       "notes",
		"var/spool/cron/crontabs/packer":       "* * * * * curl https://example.com/?token=x\n",
		"var/spool/cron/atjobs/a0000101a2b3c4": "job",
		"var/spool/cron/atjobs/.SEQ":           "0000a\n",
		"var/mail/packer":                      "From: cron\n",
		"var/lib/dhcp/dhcpd.leases":            "lease 10.0.0.9 {}\n",
		"var/lib/systemd/coredump/core.sshd.1": "core",
		"var/log/account/pacct":                "acct",
		"var/lib/logrotate/status":             "logrotate state",
		"etc/lvm/devices/system.devices":       "IDTYPE=sys_wwid IDNAME=build-disk\n",
		"etc/krb5.keytab":                      "keytab",
		"var/lib/zypp/AnonymousUniqueId":       "uuid",
	})
}

// writeTree writes files (path relative to the root: content) under a new
// temporary root.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// runLibrary runs the generated script with the given shell on the fake root.
func runLibrary(t *testing.T, shell, root string, spec []string, dryRun bool) string {
	t.Helper()
	ops, err := resolveOperations(spec)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sysprep.sh")
	os.WriteFile(path, []byte(script(ops, []string{"packer"}, dryRun)), 0o644)
	args := append(strings.Fields(shell), path)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "ROOT="+root)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", shell, err, out)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("the script did not remove itself")
	}
	if n := strings.Count(string(out), "kvm-sysprep: "); n != len(ops) {
		t.Fatalf("%d report lines for %d operations:\n%s", n, len(ops), out)
	}
	return string(out)
}

func shells(t *testing.T) []string {
	var found []string
	for _, s := range []string{"sh", "bash", "busybox sh"} {
		if _, err := exec.LookPath(strings.Fields(s)[0]); err == nil {
			found = append(found, s)
		}
	}
	return found
}

func read(t *testing.T, root, name string) (string, bool) {
	data, err := os.ReadFile(filepath.Join(root, name))
	return string(data), err == nil
}

func TestLibrary_generalizesAFakeGuest(t *testing.T) {
	all := []string{"defaults", "user-account"}
	for _, shell := range shells(t) {
		t.Run(shell, func(t *testing.T) {
			root := fakeGuest(t)

			dry := runLibrary(t, shell, root, all, true)
			if !strings.Contains(dry, "would remove 2 host key files") {
				t.Fatalf("dry run report:\n%s", dry)
			}
			if mid, _ := read(t, root, "etc/machine-id"); mid == "" {
				t.Fatal("the dry run changed /etc/machine-id")
			}

			out := runLibrary(t, shell, root, all, false)
			empty := []string{"var/log/syslog", "var/log/wtmp", "var/lib/dhcp/dhcpd.leases", "var/log/account/pacct"}
			for _, f := range empty {
				if content, ok := read(t, root, f); !ok || content != "" {
					t.Errorf("%s: present %v, content %q; want an empty file", f, ok, content)
				}
			}
			gone := []string{"etc/ssh/ssh_host_ed25519_key", "etc/ssh/ssh_host_ed25519_key.pub",
				"var/lib/cloud/instances", "var/lib/cloud/data", "var/log/syslog.1", "var/log/apt/history.log.2.gz",
				"var/log/journal/abc/system.journal", "root/.bash_history", "home/packer/.bash_history",
				"home/packer/.ssh/authorized_keys", "var/cache/apt/archives/nginx.deb", "var/cache/apt/pkgcache.bin",
				"var/lib/apt/lists/deb.debian.org_Packages", "tmp/build-artifact", "var/tmp/scratch",
				"var/lib/dhcp/dhclient.eth0.leases", "etc/udev/rules.d/70-persistent-net.rules",
				"etc/netplan/50-cloud-init.yaml", "var/crash/core.1", "var/lib/systemd/random-seed",
				"root/.ssh", "home/packer/.ssh", "home/ops/.ssh", "etc/shadow-", "etc/gshadow-", "etc/passwd-",
				"var/backups/shadow.bak", "etc/nginx/nginx.conf~", "etc/ssh/sshd_config.bak", "root/notes.bak",
				"var/spool/cron/crontabs/packer", "var/spool/cron/atjobs/a0000101a2b3c4", "var/mail/packer",
				"var/lib/systemd/coredump/core.sshd.1", "var/lib/logrotate/status", "etc/lvm/devices/system.devices",
				"etc/krb5.keytab", "var/lib/zypp/AnonymousUniqueId"}
			for _, f := range gone {
				if _, ok := read(t, root, f); ok {
					t.Errorf("%s survived", f)
				}
			}
			kept := map[string]string{
				// machine-id(5): "uninitialized" makes the next boot a first boot.
				"etc/machine-id":                           "uninitialized\n",
				"etc/ssh/sshd_config":                      "PermitRootLogin no\n",
				"etc/shadow":                               "root:*:1::::::\nops:!:1::::::\n",
				"var/spool/cron/atjobs/.SEQ":               "00000\n",
				"etc/sysconfig/network-scripts/ifcfg-eth0": "DEVICE=eth0\nBOOTPROTO=dhcp\n",
				"etc/sudoers.d/90-cloud-init-users":        "",
			}
			for f, want := range kept {
				if got, _ := read(t, root, f); got != want {
					t.Errorf("%s = %q, want %q", f, got, want)
				}
			}
			// systemd takes a regular /var/lib/dbus/machine-id as the id to keep.
			if target, err := os.Readlink(filepath.Join(root, "var/lib/dbus/machine-id")); err != nil || target != "/etc/machine-id" {
				t.Errorf("/var/lib/dbus/machine-id: link to %q (%v), want a link to /etc/machine-id", target, err)
			}
			for _, dir := range []string{"var/spool/cron/crontabs", "var/mail", "home/ops"} {
				if st, err := os.Stat(filepath.Join(root, dir)); err != nil || !st.IsDir() {
					t.Errorf("%s: the directory must stay (%v)", dir, err)
				}
			}
			if passwd, _ := read(t, root, "etc/passwd"); strings.Contains(passwd, "packer:") || !strings.Contains(passwd, "ops:") {
				t.Errorf("user-account: /etc/passwd is\n%s", passwd)
			}
			if !strings.Contains(out, "user-account: remove users: packer") {
				t.Errorf("report:\n%s", out)
			}

			again := runLibrary(t, shell, root, all, false)
			if !strings.Contains(again, "remove 0 host key files") || !strings.Contains(again, "remove users: none found") ||
				!strings.Contains(again, "(0 changed), link /var/lib/dbus/machine-id to it (0 changed)") {
				t.Errorf("a second run is not a no-op:\n%s", again)
			}
		})
	}
}

func TestLibrary_machineIDWithoutSystemd(t *testing.T) {
	// Alpine and other guests without systemd: dbus-uuidgen --ensure
	// creates missing ids at boot but rejects an empty or "uninitialized" one.
	for _, shell := range shells(t) {
		t.Run(shell, func(t *testing.T) {
			root := writeTree(t, map[string]string{
				"etc/machine-id":          "0123456789abcdef0123456789abcdef\n",
				"var/lib/dbus/machine-id": "0123456789abcdef0123456789abcdef\n",
			})
			out := runLibrary(t, shell, root, []string{"machine-id"}, false)
			for _, f := range []string{"etc/machine-id", "var/lib/dbus/machine-id"} {
				if _, err := os.Lstat(filepath.Join(root, f)); !os.IsNotExist(err) {
					t.Errorf("%s survived (%v)", f, err)
				}
			}
			if !strings.Contains(out, "remove 2 machine-id files: no systemd") {
				t.Errorf("report:\n%s", out)
			}
		})
	}
}

// fakeRHELGuest lays out the traces the RHEL family (and SUSE) leave.
func fakeRHELGuest(t *testing.T) string {
	t.Helper()
	return writeTree(t, map[string]string{
		"usr/lib/systemd/systemd": "",
		"etc/redhat-release":      "Rocky Linux release 9.4 (Blue Onyx)\n",
		"etc/passwd":              "root:x:0:0:root:/root:/bin/bash\ncloud-user:x:1000:1000::/home/cloud-user:/bin/bash\n",
		"etc/sysconfig/network-scripts/ifcfg-eth0": "DEVICE=eth0\nHWADDR=52:54:00:12:34:56\nUUID=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\n" +
			"HOSTNAME=build.example.com\nDHCP_HOSTNAME=build\nBOOTPROTO=dhcp\n",
		"etc/NetworkManager/system-connections/cloud-init-eth0.nmconnection": "[connection]\nid=eth0\n",
		"var/cache/dnf/baseos-1234/repodata/repomd.xml":                      "<repomd/>",
		"var/cache/zypp/raw/repo/repomd.xml":                                 "<repomd/>",
		"var/lib/rpm/__db.001":                                               "env",
		"var/lib/rpm/__db.002":                                               "env",
		"var/lib/rpm/Packages":                                               "the rpm database",
		"usr/lib/sysimage/rpm/__db.001":                                      "env",
		"var/lib/yum/uuid":                                                   "6b1c9d7e-uuid\n",
		"etc/pki/consumer/cert.pem":                                          "consumer cert",
		"etc/pki/consumer/key.pem":                                           "consumer key",
		"etc/pki/entitlement/1234.pem":                                       "entitlement",
		"etc/pki/product/69.pem":                                             "installed product",
		"var/lib/rhsm/cache/installed_products.json":                         "{}",
		"var/lib/rhsm/facts/facts.json":                                      "{}",
		"etc/sysconfig/rhn/systemid":                                         "<systemid/>",
		"etc/sysconfig/rhn/up2date":                                          "serverURL=https://rhn\n",
		"etc/sysconfig/hw-uuid":                                              "uuid",
		"var/spool/cron/root":                                                "@reboot /opt/once\n",
		"var/spool/at/a0001":                                                 "job",
		"var/spool/at/.SEQ":                                                  "00003\n",
		"var/spool/mail/cloud-user":                                          "From: root\n",
		"var/spool/abrt/ccpp-2024-01-01/coredump":                            "core",
		"var/log/dump/vmcore":                                                "vmcore",
		"var/lib/dhcpd/dhcpd.leases":                                         "lease 10.0.0.9 {}\n",
		"var/lib/dhcpd/dhcpd.leases~":                                        "lease 10.0.0.8 {}\n",
		"var/lib/dhclient/dhclient--eth0.lease":                              "lease",
		"var/account/pacct":                                                  "acct",
		"var/account/pacct-20240101":                                         "acct",
		"var/run/faillock/cloud-user":                                        "tally",
		"var/run/console/cloud-user":                                         "console",
		"etc/blkid/blkid.tab":                                                "<device/>",
		"root/anaconda-ks.cfg":                                               "rootpw --iscrypted $6$hash\n",
		"root/original-ks.cfg":                                               "rootpw --iscrypted $6$hash\n",
		"var/lib/logrotate/logrotate.status":                                 "kept: not a path virt-sysprep names",
		"var/lib/logrotate.status":                                           "logrotate state",
		"etc/Pegasus/server.pem":                                             "cim cert",
		"etc/ipa/default.conf":                                               "[global]\nrealm = EXAMPLE.COM\n",
		"etc/ipa/ca.crt":                                                     "ca",
		"var/lib/ipa-client/sysrestore/sysrestore.state":                     "state",
		"etc/pki/ca-trust/source/anchors/ipa-ca.crt":                         "ca",
		"etc/krb5.keytab":                                                    "keytab",
		"var/lib/sss/db/cache_example.com.ldb":                               "cache",
		"var/log/sssd/sssd.log":                                              "log",
		"var/lib/samba/private/secrets.tdb":                                  "machine secret",
		"var/log/samba/log.smbd":                                             "log",
		"var/lib/dovecot/instances":                                          "instances",
		"var/lib/puppet/ssl/certs/build.pem":                                 "host cert",
		"etc/puppetlabs/puppet/ssl/private_keys/build.pem":                   "host key",
		"var/log/puppetlabs/puppet/puppet.log":                               "log",
		"etc/lvm/devices/system.devices":                                     "IDTYPE=sys_wwid\n",
		"etc/smolt/uuid":                                                     "uuid",
		"etc/machine-id":                                                     "0123456789abcdef0123456789abcdef\n",
	})
}

func TestLibrary_generalizesAFakeRHELGuest(t *testing.T) {
	for _, shell := range shells(t) {
		t.Run(shell, func(t *testing.T) {
			root := fakeRHELGuest(t)
			out := runLibrary(t, shell, root, []string{"defaults"}, false)
			gone := []string{"etc/NetworkManager/system-connections/cloud-init-eth0.nmconnection",
				"var/cache/dnf/baseos-1234", "var/cache/zypp/raw", "var/lib/rpm/__db.001", "var/lib/rpm/__db.002",
				"usr/lib/sysimage/rpm/__db.001", "var/lib/yum/uuid", "etc/pki/consumer/cert.pem", "etc/pki/consumer/key.pem",
				"etc/pki/entitlement/1234.pem", "var/lib/rhsm/cache/installed_products.json", "var/lib/rhsm/facts/facts.json",
				"etc/sysconfig/rhn/systemid", "etc/sysconfig/hw-uuid", "var/spool/cron/root", "var/spool/at/a0001",
				"var/spool/mail/cloud-user", "var/spool/abrt/ccpp-2024-01-01", "var/log/dump/vmcore", "var/lib/dhcpd/dhcpd.leases~",
				"var/lib/dhclient/dhclient--eth0.lease", "var/account/pacct-20240101", "var/run/faillock/cloud-user",
				"var/run/console/cloud-user", "etc/blkid/blkid.tab", "root/anaconda-ks.cfg", "root/original-ks.cfg",
				"var/lib/logrotate.status", "etc/Pegasus/server.pem", "etc/ipa/default.conf", "etc/ipa/ca.crt",
				"var/lib/ipa-client/sysrestore/sysrestore.state", "etc/pki/ca-trust/source/anchors/ipa-ca.crt",
				"etc/krb5.keytab", "var/lib/sss/db/cache_example.com.ldb", "var/log/sssd/sssd.log",
				"var/lib/samba/private/secrets.tdb", "var/log/samba/log.smbd", "var/lib/dovecot/instances",
				"var/lib/puppet/ssl/certs/build.pem", "etc/puppetlabs/puppet/ssl/private_keys/build.pem",
				"var/log/puppetlabs/puppet/puppet.log", "etc/lvm/devices/system.devices", "etc/smolt/uuid"}
			for _, f := range gone {
				if _, err := os.Lstat(filepath.Join(root, f)); !os.IsNotExist(err) {
					t.Errorf("%s survived (%v)", f, err)
				}
			}
			kept := map[string]string{
				// HWADDR, HOSTNAME and DHCP_HOSTNAME pin the build; the
				// connection's UUID is local to each clone and stays.
				"etc/sysconfig/network-scripts/ifcfg-eth0": "DEVICE=eth0\nUUID=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\nBOOTPROTO=dhcp\n",
				"var/lib/rpm/Packages":                     "the rpm database",
				"etc/pki/product/69.pem":                   "installed product",
				"etc/sysconfig/rhn/up2date":                "serverURL=https://rhn\n",
				"var/spool/at/.SEQ":                        "00000\n",
				"var/lib/dhcpd/dhcpd.leases":               "",
				"var/account/pacct":                        "",
				"etc/machine-id":                           "uninitialized\n",
			}
			for f, want := range kept {
				if got, ok := read(t, root, f); !ok || got != want {
					t.Errorf("%s = %q (present %v), want %q", f, got, ok, want)
				}
			}
			for _, report := range []string{"dnf(1)", "zypper(1)", "net-nmconn: remove 1 NetworkManager", "net-hostname: remove HOSTNAME and DHCP_HOSTNAME from 1 ifcfg"} {
				if !strings.Contains(out, report) {
					t.Errorf("report lacks %q:\n%s", report, out)
				}
			}
		})
	}
}

func TestLibrary_keepsNetworkManagerProfilesOutsideTheRHELFamily(t *testing.T) {
	root := writeTree(t, map[string]string{"etc/NetworkManager/system-connections/static.nmconnection": "[connection]\n"})
	out := runLibrary(t, "sh", root, []string{"net-nmconn"}, false)
	if _, ok := read(t, root, "etc/NetworkManager/system-connections/static.nmconnection"); !ok || !strings.Contains(out, "skipped") {
		t.Fatalf("removed a profile on a non-RHEL system:\n%s", out)
	}
}

func TestLibrary_machineIDLinkedToTheDBusCopy(t *testing.T) {
	root := writeTree(t, map[string]string{
		"usr/lib/systemd/systemd": "",
		"etc/hostname":            "build\n",
		"var/lib/dbus/machine-id": "0123456789abcdef0123456789abcdef\n",
	})
	// Relative, so that nothing can follow it out of the fake root.
	if err := os.Symlink("../var/lib/dbus/machine-id", filepath.Join(root, "etc/machine-id")); err != nil {
		t.Fatal(err)
	}
	runLibrary(t, "sh", root, []string{"machine-id"}, false)
	st, err := os.Lstat(filepath.Join(root, "etc/machine-id"))
	if err != nil || !st.Mode().IsRegular() {
		t.Fatalf("/etc/machine-id: want a regular file (%v, %v)", st, err)
	}
	if got, _ := read(t, root, "etc/machine-id"); got != "uninitialized\n" {
		t.Errorf("/etc/machine-id = %q", got)
	}
	if target, _ := os.Readlink(filepath.Join(root, "var/lib/dbus/machine-id")); target != "/etc/machine-id" {
		t.Errorf("/var/lib/dbus/machine-id links to %q", target)
	}
}

func TestLibrary_userAccountLeavesNoAccountFileBackups(t *testing.T) {
	root := writeTree(t, map[string]string{
		"etc/passwd":  "root:x:0:0:root:/root:/bin/bash\npacker:x:1000:1000::/home/packer:/bin/bash\n",
		"etc/shadow":  "root:*:1::::::\npacker:!:1::::::\n",
		"etc/shadow-": "root:*:1::::::\npacker:$6$hash:1::::::\n",
		"etc/passwd-": "root:x:0:0:root:/root:/bin/bash\npacker:x:1000:1000::/home/packer:/bin/bash\n",
	})
	runLibrary(t, "sh", root, []string{"user-account"}, false)
	for _, f := range []string{"etc/shadow-", "etc/passwd-"} {
		if _, ok := read(t, root, f); ok {
			t.Errorf("%s, which still holds the removed user, survived", f)
		}
	}
}

// TestLibrary_fillReachesTheFragmentsBetweenLiveFiles runs the free-space
// fill on a real ext4 filesystem (a loop device, so it needs root) where
// deleted secrets alternate with live files, the blocks a single large
// fill file leaves free.
func TestLibrary_fillReachesTheFragmentsBetweenLiveFiles(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting a loop device needs root")
	}
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("no mkfs.ext4")
	}
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "fs.img"), filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o755)
	// Small enough that ext4's reserve (4096 clusters at most) is all that
	// is left after a large fill file: 1 KiB blocks, a 100 MiB live file.
	mustRun(t, "truncate", "-s", "256M", img)
	mustRun(t, "mkfs.ext4", "-q", "-b", "1024", img)
	mustRun(t, "mount", "-o", "loop", img, mnt)
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	dev := strings.TrimSpace(mustRun(t, "findmnt", "-no", "SOURCE", mnt))
	reserve := filepath.Join("/sys/fs/ext4", filepath.Base(dev), "reserved_clusters")
	held, _ := os.ReadFile(reserve)

	mustRun(t, "dd", "if=/dev/urandom", "of="+filepath.Join(mnt, "data"), "bs=1M", "count=100", "status=none")
	secret := []byte("kvm-sysprep-fill-canary\n" + strings.Repeat("s", 4000))
	for i := 0; i < 32; i++ {
		// A sync each keeps the secret and live blocks alternating on disk.
		os.WriteFile(filepath.Join(mnt, fmt.Sprintf("token%d", i)), secret, 0o600)
		syncAll()
		os.WriteFile(filepath.Join(mnt, fmt.Sprintf("live%d", i)), []byte(strings.Repeat("l", 4096)), 0o600)
		syncAll()
	}
	for i := 0; i < 32; i++ {
		os.Remove(filepath.Join(mnt, fmt.Sprintf("token%d", i)))
	}
	syncAll()
	if n := countIn(t, img, "kvm-sysprep-fill-canary"); n != 32 {
		t.Fatalf("the deleted secrets are %d times in the filesystem before the fill, want 32", n)
	}

	lib := filepath.Join(dir, "lib.sh")
	os.WriteFile(lib, []byte(library), 0o644)
	out := mustRun(t, "sh", "-c", `. "$1"; fill_free_space "$2" "$3"`, "sh", lib, dev, mnt)
	mustRun(t, "umount", mnt)

	if n := countIn(t, img, "kvm-sysprep-fill-canary"); n != 0 {
		t.Errorf("%d deleted secrets survived the fill (it wrote %s MiB)", n, strings.TrimSpace(out))
	}
	if now, _ := os.ReadFile(reserve); len(held) > 0 && string(now) != "" && string(now) != string(held) {
		t.Errorf("ext4's reserved_clusters is %q after the fill, was %q", now, held)
	}
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// countIn counts the lines of the file's bytes that hold s.
func countIn(t *testing.T, file, s string) int {
	t.Helper()
	out, _ := exec.Command("grep", "-c", "-a", "-F", s, file).Output()
	var n int
	if _, err := fmt.Sscan(string(out), &n); err != nil {
		t.Fatalf("grep -c %s: %q", file, out)
	}
	return n
}

// syncAll flushes every file system's dirty blocks to disk (sync(1)).
func syncAll() {
	exec.Command("sync").Run()
}
