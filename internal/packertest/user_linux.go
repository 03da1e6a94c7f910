package packertest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// User is an ordinary account made for one test: no supplementary groups
// (so no kvm group), its own home, its own copy of packer and of the
// plugin, installed by itself, and its own Packer cache. Packer runs as
// it with a login-like environment: HOME, USER, a plain PATH, no TMPDIR
// (so /tmp), no PACKER_PLUGIN_PATH (so the plugin is found where `packer
// plugins install` put it under HOME).
type User struct {
	Name     string
	UID, GID int
	Home     string
	// CacheDir is its PACKER_CACHE_DIR, under Home.
	CacheDir string
	packer   string
}

// NewUser creates an ordinary user with useradd and installs the plugin
// for it. It skips unless the test runs as root. The user, its home, its
// processes and any file it owns elsewhere are removed when the test
// ends, whether it passed or not.
func (e *Env) NewUser(t *testing.T) *User {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("creating an ordinary user to build as needs root: run the acceptance tests as root (as CI does) to run this test")
	}
	for _, tool := range []string{"useradd", "userdel", "find"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("creating an ordinary user needs %s: %v", tool, err)
		}
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := "pkvm-" + hex.EncodeToString(suffix)
	home := filepath.Join("/home", name)
	if out, err := exec.Command("useradd", "--create-home", "--home-dir", home, "--user-group",
		"--shell", "/bin/sh", "--comment", "packer-plugin-kvm acceptance test", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	u := &User{Name: name, Home: home, CacheDir: filepath.Join(home, ".cache", "packer")}
	t.Cleanup(func() { u.remove(t) })
	acct, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	u.UID, _ = strconv.Atoi(acct.Uid)
	u.GID, _ = strconv.Atoi(acct.Gid)
	t.Logf("building as the ordinary user %s (uid %d), home %s", name, u.UID, home)

	// Its own copies: the checkout (and the plugin's build directory) may
	// be where it cannot read.
	bin := u.MkdirAll(t, "bin")
	u.packer = filepath.Join(bin, "packer")
	plugin := filepath.Join(bin, "packer-plugin-kvm")
	for src, dst := range map[string]string{e.Packer: u.packer, e.Plugin: plugin} {
		if err := fileutil.CopyFile(src, dst, 0o755); err != nil {
			t.Fatal(err)
		}
		u.chown(t, dst)
	}
	if res := u.Run(t, home, "plugins", "install", "--path", plugin, "github.com/kvmforge/kvm"); res.ExitCode != 0 {
		t.Fatalf("installing the plugin as %s failed:\n%s", name, res.Output)
	}
	if installed, _ := filepath.Glob(filepath.Join(home, ".config", "packer", "plugins", "github.com", "kvmforge", "kvm", "packer-plugin-kvm_*")); len(installed) == 0 {
		t.Fatalf("packer plugins install put no plugin under %s/.config/packer/plugins", home)
	}
	return u
}

// MkdirAll makes a directory under the user's home, owned by the user
// (intermediate directories too), and returns its path.
func (u *User) MkdirAll(t *testing.T, rel string) string {
	t.Helper()
	dir := u.Home
	for _, part := range strings.Split(filepath.Clean(rel), string(filepath.Separator)) {
		dir = filepath.Join(dir, part)
		if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
		u.chown(t, dir)
	}
	return dir
}

// WriteTemplate writes an HCL2 template into a new directory of the
// user's home and returns it.
func (u *User) WriteTemplate(t *testing.T, rel, hcl string) string {
	t.Helper()
	dir := u.MkdirAll(t, rel)
	path := filepath.Join(dir, "build.pkr.hcl")
	if err := os.WriteFile(path, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	u.chown(t, path)
	return dir
}

func (u *User) chown(t *testing.T, path string) {
	t.Helper()
	if err := os.Lchown(path, u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
}

// Environ is the environment packer runs in as the user.
func (u *User) Environ() []string {
	return []string{
		"HOME=" + u.Home,
		"USER=" + u.Name,
		"LOGNAME=" + u.Name,
		"SHELL=/bin/sh",
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"PACKER_CACHE_DIR=" + u.CacheDir,
		"CHECKPOINT_DISABLE=1",
		"PACKER_NO_COLOR=1",
	}
}

// Command prepares packer in dir as the user, in its own process group,
// without starting it.
func (u *User) Command(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(u.packer, args...)
	cmd.Dir = dir
	cmd.Env = u.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: []uint32{}},
	}
	return cmd
}

// Run runs packer in dir as the user and returns its combined output.
func (u *User) Run(t *testing.T, dir string, args ...string) *Result {
	t.Helper()
	return run(t, u.Command(dir, args...), args)
}

// Processes lists the user's running processes (pid and command line).
func (u *User) Processes() []string {
	var found []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if uid, ok := procUID(d); !ok || uid != u.UID {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		found = append(found, filepath.Base(d)+": "+strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	return found
}

// WaitForNoProcesses waits up to timeout for the user's processes to end
// and returns those still running.
func (u *User) WaitForNoProcesses(timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		procs := u.Processes()
		if len(procs) == 0 || time.Now().After(deadline) {
			return procs
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// procUID is the real user ID of the process whose /proc directory is dir.
func procUID(dir string) (int, bool) {
	f, err := os.Open(filepath.Join(dir, "status"))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if fields := strings.Fields(scanner.Text()); len(fields) > 1 && fields[0] == "Uid:" {
			uid, err := strconv.Atoi(fields[1])
			return uid, err == nil
		}
	}
	return 0, false
}

// FilesOutside lists the files the user owns anywhere but under its home
// and the given directories: the root filesystem and the temporary and
// runtime filesystems (/tmp, /var/tmp, /dev/shm, /run, each not crossing
// into other mounts; /proc is never searched).
func (u *User) FilesOutside(t *testing.T, allowed ...string) []string {
	t.Helper()
	allowed = append(allowed, u.Home)
	var roots []string
	for _, r := range []string{"/", os.TempDir(), "/tmp", "/var/tmp", "/dev/shm", "/run"} {
		if _, err := os.Stat(r); err == nil {
			roots = append(roots, r)
		}
	}
	args := append(roots, "-xdev", "(", "-path", "/proc", "-o", "-path", u.Home, ")", "-prune", "-o", "-uid", strconv.Itoa(u.UID), "-print")
	cmd := exec.Command("find", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, io.Discard
	// find reports unreadable directories and vanishing files (other
	// tests' temporary files) with a non-zero status: what it printed is
	// what counts.
	_ = cmd.Run()
	seen := map[string]bool{}
	var found []string
	for _, path := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if path == "" || seen[path] || under(path, allowed) {
			continue
		}
		seen[path] = true
		found = append(found, path)
	}
	return found
}

func under(path string, dirs []string) bool {
	for _, d := range dirs {
		if rel, err := filepath.Rel(d, path); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return true
		}
	}
	return false
}

// remove ends the user's processes, removes the files it owns outside its
// home, and the user with its home and group.
func (u *User) remove(t *testing.T) {
	if u.UID != 0 {
		for attempt := 0; attempt < 50; attempt++ {
			procs := u.Processes()
			if len(procs) == 0 {
				break
			}
			for _, p := range procs {
				if pid, err := strconv.Atoi(strings.SplitN(p, ":", 2)[0]); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, f := range u.FilesOutside(t) {
			os.RemoveAll(f)
		}
	}
	if out, err := exec.Command("userdel", "--remove", u.Name).CombinedOutput(); err != nil {
		t.Errorf("userdel --remove %s: %v\n%s", u.Name, err, out)
	}
	os.RemoveAll(u.Home)
}

// String names the user for messages.
func (u *User) String() string { return fmt.Sprintf("%s (uid %d)", u.Name, u.UID) }
