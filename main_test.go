package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
)

func TestMain(m *testing.M) { packertest.Main(m) }

// The plugin describes the four components under their fixed names.
func TestDescribe(t *testing.T) {
	out, err := exec.Command("go", "run", ".", "describe").Output()
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Version        string   `json:"version"`
		APIVersion     string   `json:"api_version"`
		Builders       []string `json:"builders"`
		Provisioners   []string `json:"provisioners"`
		PostProcessors []string `json:"post_processors"`
		Datasources    []string `json:"datasources"`
	}
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := strings.Join([]string{d.Version, d.APIVersion, strings.Join(d.Builders, ","), strings.Join(d.Provisioners, ","),
		strings.Join(d.PostProcessors, ","), strings.Join(d.Datasources, ",")}, " ")
	if want := "0.1.0-dev x5.0 -packer-default-plugin-name- sysprep export cloudimage"; got != want {
		t.Fatalf("describe: %s\nwant      %s", got, want)
	}
}

const allComponents = `
data "kvm-cloudimage" "debian" {
  index_url  = "https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS"
  name_regex = "^debian-12-genericcloud-amd64\\.qcow2$"
  %s
}
source "kvm" "base" {
  source_image_url      = "https://example.org/debian.qcow2"
  source_image_checksum = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  ssh_username          = "packer"
  %s
}
build {
  sources = ["source.kvm.base"]
  provisioner "kvm-sysprep" {
    %s
  }
  post-processor "kvm-export" {
    target { format = "vmdk" }
    %s
  }
}
`

// packer validate accepts all four components and names an unknown
// argument in each.
func TestAccValidate_allComponents(t *testing.T) {
	env := packertest.Setup(t)
	ok := packertest.WriteTemplate(t, fmt.Sprintf(allComponents, "", "", "", ""))
	if res := env.Run(t, ok, "validate", "."); res.ExitCode != 0 || !strings.Contains(res.Output, "The configuration is valid") {
		t.Fatalf("a valid template was refused:\n%s", res.Output)
	}
	unknown := []string{"bogus_datasource_arg = 1", "bogus_builder_arg = 1", "bogus_provisioner_arg = 1", "bogus_export_arg = 1"}
	for i, arg := range unknown {
		slots := []interface{}{"", "", "", ""}
		slots[i] = arg
		dir := packertest.WriteTemplate(t, fmt.Sprintf(allComponents, slots...))
		res := env.Run(t, dir, "validate", ".")
		name := strings.Fields(arg)[0]
		if res.ExitCode == 0 || !strings.Contains(res.Output, name) {
			t.Errorf("%s: exit %d, output does not name it:\n%s", name, res.ExitCode, res.Output)
		}
	}
}

// The test guest image the recipe builds is a sound disk whose root
// filesystem holds cloud-init, sshd and a kernel, with no SSH host keys.
func TestAccBaseImage_recipe(t *testing.T) {
	env := packertest.Setup(t)
	if out, err := exec.Command("qemu-img", "check", env.Image).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img check: %v\n%s", err, out)
	}
	root := packertest.MountRoot(t, env.Image)
	for _, pattern := range []string{"usr/bin/cloud-init", "usr/sbin/sshd", "boot/vmlinuz-*-cloud-amd64", "boot/extlinux/extlinux.conf"} {
		if found, _ := filepath.Glob(filepath.Join(root, pattern)); len(found) == 0 {
			t.Errorf("the image lacks %s", pattern)
		}
	}
	if keys, _ := filepath.Glob(filepath.Join(root, "etc/ssh/ssh_host_*")); len(keys) > 0 {
		t.Errorf("the image ships SSH host keys: %v", keys)
	}
}

// `make release-check` builds every pinned tool scripts/release-check.sh
// runs from .tools/bin before it runs the script: on a fresh clone it used
// to build goreleaser only and stop at `packer: command not found` after
// the whole snapshot release.
func TestMakefile_releaseCheckBuildsTheToolsItRuns(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	// Under `make check` this test runs inside make: without the parent's
	// flags and level the dry run prints only the commands.
	cmd := exec.Command("make", "--no-print-directory", "--dry-run", "--always-make", "release-check")
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); name != "MAKEFLAGS" && name != "MFLAGS" && name != "MAKELEVEL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make --dry-run release-check: %v\n%s", err, out)
	}
	built := map[string]bool{}
	lines := strings.Split(string(out), "\n")
	for _, line := range lines {
		if args, ok := strings.CutPrefix(strings.TrimSpace(line), "scripts/tools.sh "); ok {
			for _, tool := range strings.Fields(args) {
				built[tool] = true
			}
		}
	}
	for _, tool := range []string{"packer", "goreleaser"} {
		if !built[tool] {
			t.Errorf("release-check does not build %s before scripts/release-check.sh runs it:\n%s", tool, out)
		}
	}
	if last := strings.TrimSpace(lines[len(lines)-2]); last != "scripts/release-check.sh" {
		t.Errorf("release-check's last command is %q, want scripts/release-check.sh", last)
	}
}
