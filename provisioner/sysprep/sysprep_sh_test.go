package sysprep

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGuest lays out a dirty guest filesystem under a temporary root.
func fakeGuest(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
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
	}
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
			empty := []string{"etc/machine-id", "var/log/syslog", "var/log/wtmp"}
			for _, f := range empty {
				if content, ok := read(t, root, f); !ok || content != "" {
					t.Errorf("%s: present %v, content %q; want an empty file", f, ok, content)
				}
			}
			gone := []string{"var/lib/dbus/machine-id", "etc/ssh/ssh_host_ed25519_key", "etc/ssh/ssh_host_ed25519_key.pub",
				"var/lib/cloud/instances", "var/lib/cloud/data", "var/log/syslog.1", "var/log/apt/history.log.2.gz",
				"var/log/journal/abc/system.journal", "root/.bash_history", "home/packer/.bash_history",
				"home/packer/.ssh/authorized_keys", "var/cache/apt/archives/nginx.deb", "var/cache/apt/pkgcache.bin",
				"var/lib/apt/lists/deb.debian.org_Packages", "tmp/build-artifact", "var/tmp/scratch",
				"var/lib/dhcp/dhclient.eth0.leases", "etc/udev/rules.d/70-persistent-net.rules",
				"etc/netplan/50-cloud-init.yaml", "var/crash/core.1", "var/lib/systemd/random-seed"}
			for _, f := range gone {
				if _, ok := read(t, root, f); ok {
					t.Errorf("%s survived", f)
				}
			}
			kept := map[string]string{
				"etc/ssh/sshd_config":                      "PermitRootLogin no\n",
				"home/ops/.ssh/authorized_keys":            "ssh-ed25519 BBBB ops\n",
				"etc/sysconfig/network-scripts/ifcfg-eth0": "DEVICE=eth0\nBOOTPROTO=dhcp\n",
				"etc/sudoers.d/90-cloud-init-users":        "",
			}
			for f, want := range kept {
				if got, _ := read(t, root, f); got != want {
					t.Errorf("%s = %q, want %q", f, got, want)
				}
			}
			if passwd, _ := read(t, root, "etc/passwd"); strings.Contains(passwd, "packer:") || !strings.Contains(passwd, "ops:") {
				t.Errorf("user-account: /etc/passwd is\n%s", passwd)
			}
			if !strings.Contains(out, "user-account: remove users: packer") {
				t.Errorf("report:\n%s", out)
			}

			again := runLibrary(t, shell, root, all, false)
			if !strings.Contains(again, "remove 0 host key files") || !strings.Contains(again, "remove users: none found") {
				t.Errorf("a second run is not a no-op:\n%s", again)
			}
		})
	}
}
