package packertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	vagrantOnce sync.Once
	vagrantErr  error
)

// VagrantSource is the source address the vagrant plugin is installed as.
const VagrantSource = "github.com/hashicorp/vagrant"

// InstallVagrant builds the pinned packer-plugin-vagrant (tools/vagrant,
// cached in .tools/bin like the other tools) and installs it into the
// environment's plugin directory, once per test binary. VAGRANT_PLUGIN_BIN
// names another build of it to test with instead.
func (e *Env) InstallVagrant(t *testing.T) {
	t.Helper()
	vagrantOnce.Do(func() { vagrantErr = e.installVagrant() })
	if vagrantErr != nil {
		t.Fatal(vagrantErr)
	}
}

func (e *Env) installVagrant() error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	bin := os.Getenv("VAGRANT_PLUGIN_BIN")
	if bin == "" {
		build := exec.Command(filepath.Join(root, "scripts", "tools.sh"), "packer-plugin-vagrant")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("building packer-plugin-vagrant: %v\n%s", err, out)
		}
		bin = filepath.Join(root, ".tools", "bin", "packer-plugin-vagrant")
	}
	install := exec.Command(e.Packer, "plugins", "install", "--path", bin, VagrantSource)
	install.Env = e.environ()
	if out, err := install.CombinedOutput(); err != nil {
		return fmt.Errorf("installing packer-plugin-vagrant: %v\n%s", err, out)
	}
	return nil
}

// WithEnv is the environment with vars added to packer's environment.
func (e *Env) WithEnv(vars ...string) *Env {
	c := *e
	c.extra = append(append([]string(nil), e.extra...), vars...)
	return &c
}
