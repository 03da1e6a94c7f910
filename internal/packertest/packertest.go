// Package packertest runs the real packer CLI against the plugin built from
// this checkout, for acceptance tests. Each test binary builds the plugin
// once and installs it into its own plugin directory, so tests never depend
// on (or disturb) what the developer has installed.
package packertest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Env is an isolated Packer environment with the plugin installed.
type Env struct {
	Packer    string
	PluginDir string
	CacheDir  string
	// Image is the path of the test guest image (from KVM_TEST_IMAGE).
	Image string
	// Plugin is the plugin binary built from this checkout.
	Plugin string
	// extra is environment added to packer's (see WithEnv).
	extra []string
	// prefix runs packer through another command (see WithPrefix).
	prefix []string
}

var (
	once     sync.Once
	shared   *Env
	setupErr error
	tempRoot string
)

// Main runs the tests of a package and removes the shared environment.
func Main(m *testing.M) {
	code := m.Run()
	if tempRoot != "" {
		os.RemoveAll(tempRoot)
	}
	os.Exit(code)
}

// Setup skips the test unless PACKER_ACC is set, and returns the shared
// environment, building and installing the plugin on first use.
func Setup(t *testing.T) *Env {
	t.Helper()
	if os.Getenv("PACKER_ACC") == "" {
		t.Skip("acceptance test: set PACKER_ACC=1 (make testacc)")
	}
	once.Do(func() { shared, setupErr = setup() })
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	return shared
}

func setup() (*Env, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	image := os.Getenv("KVM_TEST_IMAGE")
	if image == "" {
		return nil, fmt.Errorf("KVM_TEST_IMAGE is not set: run `make testacc`, or set it to the output of scripts/base-image.sh")
	}
	packer := filepath.Join(root, ".tools", "bin", "packer")
	if p := os.Getenv("PACKER_BIN"); p != "" {
		packer = p
	}
	if tempRoot, err = os.MkdirTemp("", "packertest-"); err != nil {
		return nil, err
	}
	env := &Env{Packer: packer, PluginDir: filepath.Join(tempRoot, "plugins"), CacheDir: filepath.Join(tempRoot, "cache"), Image: image}
	bin := filepath.Join(tempRoot, "packer-plugin-kvm")
	env.Plugin = bin
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the plugin: %v\n%s", err, out)
	}
	install := exec.Command(packer, "plugins", "install", "--path", bin, "github.com/kvmforge/kvm")
	install.Env = env.environ()
	if out, err := install.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("installing the plugin: %v\n%s", err, out)
	}
	return env, nil
}

func (e *Env) environ() []string {
	return append(append(os.Environ(),
		"PACKER_PLUGIN_PATH="+e.PluginDir,
		"PACKER_CACHE_DIR="+e.CacheDir,
		"CHECKPOINT_DISABLE=1",
		"PACKER_NO_COLOR=1",
	), e.extra...)
}

// Result is a finished packer command.
type Result struct {
	Output   string
	ExitCode int
	Duration time.Duration
}

// Run runs packer with args in dir and returns its combined output.
func (e *Env) Run(t *testing.T, dir string, args ...string) *Result {
	t.Helper()
	return run(t, e.Command(dir, args...), args)
}

// run runs a prepared packer command with args and returns its combined
// output, logged should the test fail.
func run(t *testing.T, cmd *exec.Cmd, args []string) *Result {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	res := &Result{Output: out.String(), Duration: time.Since(start)}
	if exit, ok := err.(*exec.ExitError); ok {
		res.ExitCode = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("running packer: %v", err)
	}
	t.Logf("packer %s: exit %d after %s", strings.Join(args, " "), res.ExitCode, res.Duration.Round(time.Second))
	// The whole log only when it helps: a failing test.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output of packer %s:\n%s", strings.Join(args, " "), res.Output)
		}
	})
	return res
}

// Command prepares a packer command in dir without starting it.
func (e *Env) Command(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(e.Packer, args...)
	if len(e.prefix) > 0 {
		cmd = exec.Command(e.prefix[0], append(append(e.prefix[1:len(e.prefix):len(e.prefix)], e.Packer), args...)...)
	}
	cmd.Dir = dir
	cmd.Env = e.environ()
	cmd.SysProcAttr = ownProcessGroup()
	return cmd
}

// WithPrefix is the environment with packer run as an argument of
// command, such as `ip netns exec <ns> packer ...`: command gets packer's
// path and arguments after its own and must run them with the environment
// it was given.
func (e *Env) WithPrefix(command ...string) *Env {
	c := *e
	c.prefix = append([]string(nil), command...)
	return &c
}

// WriteTemplate writes an HCL2 template into a new directory and returns it.
func WriteTemplate(t *testing.T, hcl string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "build.pkr.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// QemuProcesses lists running QEMU processes whose command line holds marker.
func QemuProcesses(marker string) []string {
	var found []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		cmdline := strings.ReplaceAll(string(data), "\x00", " ")
		if strings.Contains(cmdline, "qemu-system") && strings.Contains(cmdline, marker) {
			found = append(found, cmdline)
		}
	}
	return found
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(data, []byte("module github.com/kvmforge/packer-plugin-kvm\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("repository root not found above the test's directory")
		}
		dir = parent
	}
}
