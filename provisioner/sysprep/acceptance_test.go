package sysprep

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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
      # Deleted secrets whose blocks share qcow2 clusters (64 KiB) with
      # live data: secret and live 4 KiB files alternate (a sync each fixes
      # the order on disk), then the secrets go. A discard rounds to whole
      # clusters, so only overwriting clears them. The script never holds
      # the joined string, so only the files can put it in the image.
      "c=kvm-sysprep-canary; sudo mkdir /root/keep && for i in $(seq 32); do (echo \"$${c}-7f3a9e\"; head -c 4000 /dev/zero) | sudo tee /root/keep/token$i >/dev/null && sync && head -c 4096 /dev/urandom | sudo tee /root/keep/live$i >/dev/null && sync; done && sudo sh -c 'rm /root/keep/token*' && sync",
      # What provisioning leaves: keys it authorized, the build user's own
      # keys, account file backups, editor backups, mail.
      "sudo mkdir -p /root/.ssh && echo 'ssh-ed25519 AAAAC3Nza provisioning' | sudo tee /root/.ssh/authorized_keys >/dev/null",
      "ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/id_ed25519 && echo 'git.example.com ssh-ed25519 AAAA' >> ~/.ssh/known_hosts",
      "sudo cp /etc/shadow /etc/shadow- && sudo cp /etc/ssh/sshd_config /etc/ssh/sshd_config.bak",
      "echo 'From: cron' | sudo tee /var/mail/packer >/dev/null",
      # A unit that runs only on a first boot (ConditionFirstBoot=yes).
      "printf '[Unit]\\nConditionFirstBoot=yes\\n[Service]\\nType=oneshot\\nExecStart=/bin/touch /var/lib/kvm-first-boot\\n[Install]\\nWantedBy=multi-user.target\\n' | sudo tee /etc/systemd/system/kvm-first-boot-probe.service >/dev/null",
      "sudo systemctl enable --quiet kvm-first-boot-probe.service",
      "echo MACHINEID=$(cat /etc/machine-id)",
      "echo HOSTKEY=$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2)",
    ]
  }
  provisioner "kvm-sysprep" { operations = %[3]s }
}
`, name, image, operations)
}

// canary is the secret the dirty build writes to a file and deletes.
const canary = "kvm-sysprep-canary-7f3a9e"

// canaryCount converts the image to raw and counts the lines of its bytes
// that hold the canary.
func canaryCount(t *testing.T, image string) int {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "disk.raw")
	if out, err := exec.Command("qemu-img", "convert", "-O", "raw", image, raw).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert: %v\n%s", err, out)
	}
	out, err := exec.Command("grep", "-c", "-a", "-F", canary, raw).Output()
	n, convErr := strconv.Atoi(strings.TrimSpace(string(out)))
	if convErr != nil {
		t.Fatalf("grep -c: %v (%v)", err, convErr)
	}
	return n
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
	for _, op := range []string{"machine-id: write \"uninitialized\"", "ssh-hostkeys: remove", "cloud-init: clean",
		"scrub-free-space: zeroed free space: /(", "trim: fstrim", "user-account: remove users: packer"} {
		if !strings.Contains(a.Output, op) {
			t.Errorf("the build log lacks the report %q", op)
		}
	}
	imageA := filepath.Join(dirA, "output-a", "a.qcow2")

	t.Run("offline inspection", func(t *testing.T) {
		root := packertest.MountRoot(t, imageA)
		// machine-id(5): the next boot is a first boot.
		if mid, err := os.ReadFile(filepath.Join(root, "etc/machine-id")); string(mid) != "uninitialized\n" {
			t.Errorf("/etc/machine-id is %q (%v), want \"uninitialized\\n\"", mid, err)
		}
		mustBeEmptyFile := []string{"var/log/dirty.log"}
		for _, f := range mustBeEmptyFile {
			st, err := os.Stat(filepath.Join(root, f))
			if err != nil || st.Size() != 0 {
				t.Errorf("%s: want an empty file (err %v)", f, err)
			}
		}
		for _, pattern := range []string{"etc/ssh/ssh_host_*", "var/lib/cloud/instances/*", "root/.bash_history", "home/packer",
			"var/cache/apt/archives/*.deb", "var/tmp/*", "tmp/*", "var/log/journal/*/*", "var/lib/systemd/random-seed",
			"root/.ssh", "etc/shadow-", "etc/ssh/sshd_config.bak", "var/mail/packer", ".kvm-sysprep-scrub"} {
			if found, _ := filepath.Glob(filepath.Join(root, pattern)); len(found) > 0 {
				t.Errorf("%s still holds %v", pattern, found)
			}
		}
		passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
		if strings.Contains(string(passwd), "\npacker:") {
			t.Error("the build user is still in /etc/passwd")
		}
	})

	t.Run("scrub clears deleted data that trim leaves, the image stays small", func(t *testing.T) {
		dirB := packertest.WriteTemplate(t, dirtyAndSysprep("b", env.Image, `["defaults", "-scrub-free-space"]`))
		b := env.Run(t, dirB, "build", ".")
		if b.ExitCode != 0 {
			t.Fatal("build without scrub-free-space failed")
		}
		imageB := filepath.Join(dirB, "output-b", "b.qcow2")
		// trim alone leaves the secrets that share a cluster with live data.
		if n := canaryCount(t, imageB); n == 0 {
			t.Fatal("with trim alone the deleted secrets are not in the image: the test proves nothing")
		}
		if n := canaryCount(t, imageA); n != 0 {
			t.Errorf("%d deleted secrets are still in the image after scrub-free-space", n)
		}
		scrubbed, _ := os.Stat(imageA)
		trimmed, _ := os.Stat(imageB)
		t.Logf("image size with scrub and trim %d MiB, with trim alone %d MiB", scrubbed.Size()>>20, trimmed.Size()>>20)
		// The zeros become holes: as small as trim alone. Both must also be
		// rid of the 300 MiB deleted random file: the test image trimmed
		// is about 200 MiB, with that file about 500 MiB.
		if diff := scrubbed.Size() - trimmed.Size(); diff > 32<<20 || diff < -32<<20 {
			t.Errorf("scrub-free-space changed the image size by %d MiB", diff>>20)
		}
		if max(scrubbed.Size(), trimmed.Size()) > 350<<20 {
			t.Errorf("the deleted 300 MiB file is still in the image")
		}
		// ssh-userdir acts on every user, the build user included, also
		// when the user stays.
		root := packertest.MountRoot(t, imageB)
		if found, _ := filepath.Glob(filepath.Join(root, "home/packer/.ssh")); len(found) > 0 {
			t.Errorf("the build user's .ssh (keys, known_hosts) survived: %v", found)
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
      "echo FIRSTBOOT=$(test -e /var/lib/kvm-first-boot && echo yes || echo no)",
      "echo DBUSID=$(cat /var/lib/dbus/machine-id)",
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
		if got := field(t, c.Output, "FIRSTBOOT"); got != "yes" {
			t.Error("the clone's boot was not a first boot for systemd: the ConditionFirstBoot=yes unit did not run")
		}
		if got, want := field(t, c.Output, "DBUSID"), field(t, c.Output, "MACHINEID"); got != want {
			t.Errorf("D-Bus machine-id %q, systemd's %q", got, want)
		}
	})
}
