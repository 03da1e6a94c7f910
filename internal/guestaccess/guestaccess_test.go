package guestaccess

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// fakeGuest is a guest tree as a Debian cloud image has it before the
// build boot; R prefixes every path of the scripts.
func fakeGuest(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	base := map[string]string{
		"etc/hosts":           "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
		"etc/hostname":        "localhost\n",
		"etc/passwd":          "root:x:0:0:root:/root:/bin/bash\n",
		"etc/shadow":          "root:*:19000:0:99999:7:::\n",
		"etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\n",
		"run/.keep":           "",
	}
	for name, content := range files {
		base[name] = content
	}
	for name, content := range base {
		path := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// runIn runs a guest script under /bin/sh with R set to root and returns
// its stdout; anything on stderr fails the test.
func runIn(t *testing.T, root, script string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "R="+root)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("script failed: %v\nstderr: %s\nscript:\n%s", err, stderr.String(), script)
	}
	return stdout.String()
}

func read(t *testing.T, root, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// cloudInitBoot does to the tree what cloud-init does after the bootcmd:
// the hostname, the user with the hash, its sudo rule, its key.
func cloudInitBoot(t *testing.T, root, hash string) {
	t.Helper()
	appendTo := func(name, text string) {
		f, err := os.OpenFile(filepath.Join(root, name), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(text)
		f.Close()
	}
	os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("packer-base\n"), 0o644)
	appendTo("etc/passwd", "packer:x:1000:1000::/home/packer:/bin/bash\n")
	appendTo("etc/shadow", "packer:"+hash+":19000:0:99999:7:::\n")
	os.WriteFile(filepath.Join(root, "etc/shadow-"), []byte("root:*:19000:0:99999:7:::\npacker:"+hash+":19000:0:99999:7:::\n"), 0o600)
	os.MkdirAll(filepath.Join(root, "etc/sudoers.d"), 0o755)
	appendTo("etc/sudoers.d/90-cloud-init-users", "\n# Created by cloud-init v. 22.4.2\n\n# User rules for packer\npacker ALL=(ALL) NOPASSWD:ALL\n")
	os.MkdirAll(filepath.Join(root, "home/packer/.ssh"), 0o700)
	appendTo("home/packer/.ssh/authorized_keys", "ssh-ed25519 AAAAmine me@laptop\nssh-ed25519 AAAAbuild packer_123\n")
	inst := filepath.Join(root, "var/lib/cloud/instances/packer-iid")
	os.MkdirAll(inst, 0o755)
	for _, f := range []string{"user-data.txt", "user-data.txt.i", "cloud-config.txt", "obj.pkl"} {
		os.WriteFile(filepath.Join(inst, f), []byte("hashed_passwd: "+hash+"\n"), 0o600)
	}
	os.WriteFile(filepath.Join(inst, "datasource"), []byte("DataSourceNoCloud\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "var/lib/cloud/data"), 0o755)
	os.WriteFile(filepath.Join(root, "var/lib/cloud/data/previous-hostname"), []byte("packer-base"), 0o644)
}

// Issue 15 items 3 and 8b: the bootcmd makes the build hostname resolve
// and opens password logins; the revoke script takes back all of it and
// leaves the rest of each file as it was.
func TestBuildAccess_bootcmdThenRevokeLeavesNoBuildAccess(t *testing.T) {
	root := fakeGuest(t, nil)
	hash, _ := HashPassword("s3cret")
	runIn(t, root, Bootcmd("packer", "packer-base", true))
	if hosts := read(t, root, "etc/hosts"); !strings.Contains(hosts, "127.0.1.1\tpacker-base "+hostsMarker) {
		t.Fatalf("the build hostname does not resolve:\n%s", hosts)
	}
	if sshd := read(t, root, "etc/ssh/sshd_config"); !strings.HasPrefix(sshd, sshdMarker+"\nPasswordAuthentication yes\nInclude") {
		t.Fatalf("password authentication is not first in sshd_config:\n%s", sshd)
	}
	// A second boot (bootcmd runs at every boot) adds nothing.
	runIn(t, root, Bootcmd("packer", "packer-base", true))
	if n := strings.Count(read(t, root, "etc/hosts"), "packer-base"); n != 1 {
		t.Fatalf("hosts entry added %d times", n)
	}
	cloudInitBoot(t, root, hash)

	out := runIn(t, root, Revocation{User: "packer", KeyComment: "packer_123", Hostname: "packer-base", InstanceID: "packer-iid", Password: true, Keep: false}.Script())
	for _, want := range []string{"temporary SSH key", "/etc/hosts", "Restored", "sudo rule", "SSH password authentication", "build password"} {
		if !strings.Contains(out, want) {
			t.Errorf("the script does not report %q:\n%s", want, out)
		}
	}
	expect := map[string]string{
		"etc/hosts":                        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
		"etc/hostname":                     "localhost\n",
		"etc/ssh/sshd_config":              "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\n",
		"etc/shadow":                       "root:*:19000:0:99999:7:::\npacker:!:19000:0:99999:7:::\n",
		"etc/shadow-":                      "root:*:19000:0:99999:7:::\npacker:!:19000:0:99999:7:::\n",
		"home/packer/.ssh/authorized_keys": "ssh-ed25519 AAAAmine me@laptop\n",
	}
	for name, want := range expect {
		if got := read(t, root, name); got != want {
			t.Errorf("%s:\n%q\nwant\n%q", name, got, want)
		}
	}
	for _, gone := range []string{"etc/sudoers.d/90-cloud-init-users", "var/lib/cloud/instances/packer-iid/user-data.txt",
		"var/lib/cloud/instances/packer-iid/obj.pkl", "var/lib/cloud/instances/packer-iid/cloud-config.txt", "var/lib/cloud/data/previous-hostname"} {
		if fileutil.Exists(filepath.Join(root, gone)) {
			t.Errorf("%s is still there", gone)
		}
	}
	if !fileutil.Exists(filepath.Join(root, "var/lib/cloud/instances/packer-iid/datasource")) {
		t.Error("cloud-init files without build data were removed")
	}
}

// What the image had before the build stays: an existing user's password,
// an existing sudo rule, the image's own hostname, a cloud-init managed
// /etc/hosts line with other names.
func TestBuildAccess_revokeRestoresWhatTheImageHad(t *testing.T) {
	root := fakeGuest(t, map[string]string{
		"etc/hostname":                      "golden\n",
		"etc/passwd":                        "root:x:0:0:root:/root:/bin/bash\npacker:x:1000:1000::/home/packer:/bin/bash\n",
		"etc/shadow":                        "root:*:19000:0:99999:7:::\npacker:$6$old$oldhash:19000:0:99999:7:::\n",
		"etc/sudoers.d/90-cloud-init-users": "# User rules for packer\npacker ALL=(ALL) NOPASSWD:ALL\n",
	})
	runIn(t, root, Bootcmd("packer", "packer-base", true))
	os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("packer-base\n"), 0o644)
	f, _ := os.OpenFile(filepath.Join(root, "etc/hosts"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("127.0.1.1 packer-base.localdomain packer-base golden\n")
	f.Close()
	os.WriteFile(filepath.Join(root, "etc/shadow"), []byte("root:*:19000:0:99999:7:::\npacker:$6$new$newhash:19000:0:99999:7:::\n"), 0o600)

	runIn(t, root, Revocation{User: "packer", KeyComment: "packer_123", Hostname: "packer-base", InstanceID: "packer-iid", Password: true, Keep: false}.Script())
	if got := read(t, root, "etc/shadow"); !strings.Contains(got, "packer:$6$old$oldhash:") {
		t.Errorf("the user's own password was not restored:\n%s", got)
	}
	if got := read(t, root, "etc/sudoers.d/90-cloud-init-users"); !strings.Contains(got, "packer ALL=(ALL) NOPASSWD:ALL") {
		t.Errorf("a sudo rule the image had was removed:\n%s", got)
	}
	if got := read(t, root, "etc/hostname"); got != "golden\n" {
		t.Errorf("hostname %q, want the image's own", got)
	}
	if got := read(t, root, "etc/hosts"); strings.Contains(got, "packer-base") || !strings.Contains(got, "127.0.1.1 golden\n") {
		t.Errorf("hosts:\n%s", got)
	}
}

// kvm-sysprep may have removed authorized_keys and cloud-init's state
// already: the revoke script says nothing about them and fails on nothing.
func TestBuildAccess_revokeIsQuietAboutFilesAlreadyRemoved(t *testing.T) {
	root := fakeGuest(t, map[string]string{"etc/passwd": "root:x:0:0:root:/root:/bin/bash\npacker:x:1000:1000::/home/packer:/bin/bash\n"})
	out := runIn(t, root, Revocation{User: "packer", KeyComment: "packer_123", Hostname: "packer-base", InstanceID: "packer-iid", Password: false, Keep: false}.Script())
	if out != "" {
		t.Fatalf("reported work on files that are not there:\n%s", out)
	}
}

// keep_build_access leaves everything but the temporary key.
func TestBuildAccess_keepRemovesOnlyTheKey(t *testing.T) {
	root := fakeGuest(t, nil)
	runIn(t, root, Bootcmd("packer", "packer-base", true))
	cloudInitBoot(t, root, "$6$x$y")
	out := runIn(t, root, Revocation{User: "packer", KeyComment: "packer_123", Hostname: "packer-base", InstanceID: "packer-iid", Password: true, Keep: true}.Script())
	if !strings.Contains(out, "temporary SSH key") || strings.Contains(read(t, root, "home/packer/.ssh/authorized_keys"), "packer_123") {
		t.Fatalf("key kept: %s", out)
	}
	if !fileutil.Exists(filepath.Join(root, "etc/sudoers.d/90-cloud-init-users")) || !strings.Contains(read(t, root, "etc/ssh/sshd_config"), "PasswordAuthentication yes") {
		t.Fatal("keep_build_access did not keep the access")
	}
}
