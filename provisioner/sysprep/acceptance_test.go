package sysprep

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
)

func TestMain(m *testing.M) { packertest.Main(m) }

// dirtyAndSysprep is a build that leaves the traces a real build leaves,
// prints the guest's identity, then runs kvm-sysprep with operations.
func dirtyAndSysprep(name, image, operations string) string {
	return fmt.Sprintf(`
source "kvm" %[1]q {
  source_image_url      = %[2]q
  source_image_checksum = "none"
  ssh_username          = "packer"
  memory                = 1024
}
build {
  sources = ["source.kvm.%[1]s"]
  provisioner "shell" {
    inline = [
      "echo 'mysql -p hunter2' > ~/.bash_history",
      "echo 'root secret' | sudo tee /root/.bash_history >/dev/null",
      "echo 'dirty log line' | sudo tee /var/log/dirty.log >/dev/null",
      "sudo mkdir -p /var/cache/apt/archives && echo deb | sudo tee /var/cache/apt/archives/nginx_1.22_amd64.deb >/dev/null",
      # Like images mounted without the discard option (Debian's mount
      # with it, many others do not), deleted blocks stay allocated.
      "sudo mount -o remount,nodiscard /",
      "sudo dd if=/dev/urandom of=/var/tmp/big bs=1M count=300 status=none && sync && sudo rm /var/tmp/big && sync",
      "echo scratch > /tmp/scratch",
      "echo MACHINEID=$(cat /etc/machine-id)",
      "echo HOSTKEY=$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2)",
    ]
  }
  provisioner "kvm-sysprep" { operations = %[3]s }
}
`, name, image, operations)
}

func field(t *testing.T, output, name string) string {
	t.Helper()
	m := regexp.MustCompile(name + `=(\S+)`).FindStringSubmatch(output)
	if m == nil {
		t.Fatalf("output has no %s=", name)
	}
	return m[1]
}

func TestAccSysprep_generalizedImageBootsAsAFreshClone(t *testing.T) {
	env := packertest.Setup(t)

	// With user-account: the build user goes, the build still ends cleanly.
	dirA := packertest.WriteTemplate(t, dirtyAndSysprep("a", env.Image, `["defaults", "user-account"]`))
	a := env.Run(t, dirA, "build", ".")
	if a.ExitCode != 0 {
		t.Fatal("build with kvm-sysprep failed")
	}
	for _, op := range []string{"machine-id: empty", "ssh-hostkeys: remove", "cloud-init: clean", "trim: fstrim", "user-account: remove users: packer"} {
		if !strings.Contains(a.Output, op) {
			t.Errorf("the build log lacks the report %q", op)
		}
	}
	imageA := filepath.Join(dirA, "output-a", "a.qcow2")

	t.Run("offline inspection", func(t *testing.T) {
		root := packertest.MountRoot(t, imageA)
		mustBeEmptyFile := []string{"etc/machine-id", "var/log/dirty.log"}
		for _, f := range mustBeEmptyFile {
			st, err := os.Stat(filepath.Join(root, f))
			if err != nil || st.Size() != 0 {
				t.Errorf("%s: want an empty file (err %v)", f, err)
			}
		}
		for _, pattern := range []string{"etc/ssh/ssh_host_*", "var/lib/cloud/instances/*", "root/.bash_history", "home/packer",
			"var/cache/apt/archives/*.deb", "var/tmp/*", "tmp/*", "var/log/journal/*/*", "var/lib/systemd/random-seed"} {
			if found, _ := filepath.Glob(filepath.Join(root, pattern)); len(found) > 0 {
				t.Errorf("%s still holds %v", pattern, found)
			}
		}
		passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
		if strings.Contains(string(passwd), "\npacker:") {
			t.Error("the build user is still in /etc/passwd")
		}
	})

	t.Run("trim shrinks the image", func(t *testing.T) {
		dirB := packertest.WriteTemplate(t, dirtyAndSysprep("b", env.Image, `["defaults", "-trim"]`))
		if b := env.Run(t, dirB, "build", "."); b.ExitCode != 0 {
			t.Fatal("build without trim failed")
		}
		withTrim, _ := os.Stat(imageA)
		without, _ := os.Stat(filepath.Join(dirB, "output-b", "b.qcow2"))
		t.Logf("image size with trim %d MiB, without %d MiB", withTrim.Size()>>20, without.Size()>>20)
		if withTrim.Size() > without.Size()-150<<20 {
			t.Fatalf("trim saved only %d MiB of the 300 MiB deleted file", (without.Size()-withTrim.Size())>>20)
		}
	})

	t.Run("a clone boots as a first boot", func(t *testing.T) {
		dirC := packertest.WriteTemplate(t, fmt.Sprintf(`
source "kvm" "c" {
  source_image_url      = %q
  source_image_checksum = "none"
  ssh_username          = "packer"
  memory                = 1024
}
build {
  sources = ["source.kvm.c"]
  provisioner "shell" {
    inline = [
      "echo MACHINEID=$(cat /etc/machine-id)",
      "echo HOSTKEY=$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2)",
      "echo INSTANCES=$(ls /var/lib/cloud/instances | wc -l)",
      "echo INSTANCE=$(cat /var/lib/cloud/data/instance-id)",
    ]
  }
}
`, imageA))
		c := env.Run(t, dirC, "build", ".")
		if c.ExitCode != 0 {
			t.Fatal("the generalized image did not boot and provision as a clone")
		}
		if got, old := field(t, c.Output, "MACHINEID"), field(t, a.Output, "MACHINEID"); got == old || len(got) != 32 {
			t.Errorf("machine-id %q, the build's was %q: want a new one", got, old)
		}
		if got, old := field(t, c.Output, "HOSTKEY"), field(t, a.Output, "HOSTKEY"); got == old {
			t.Errorf("the clone kept the build's host key %s", old)
		}
		if n := field(t, c.Output, "INSTANCES"); n != "1" {
			t.Errorf("cloud-init knows %s instances: the clone's boot was not a first boot", n)
		}
		if !strings.HasPrefix(field(t, c.Output, "INSTANCE"), "packer-") {
			t.Error("no new instance-id")
		}
	})
}
