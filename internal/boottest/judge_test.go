package boottest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/console"
)

const nonce = "0123456789abcdef01234567"

// bootLog is a Debian cloud boot on the serial console, up to cloud-init's
// final stage, with terminal control codes as a real console has them.
const bootLog = "\x1b[2J\x1b[01;01HSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n" +
	"Booting from Hard Disk...\r\n" +
	"[    0.000000] Linux version 6.1.0-50-cloud-amd64\r\n" +
	"[  OK  ] Reached target \x1b[0;1;39mNetwork is Online\x1b[0m.\r\n" +
	"[   41.2] cloud-init[412]: Cloud-init v. 22.4.2 running 'modules:final'\r\n"

func judged(t *testing.T, j Judge, raw string) (Verdict, string) {
	t.Helper()
	return j.Judge(console.Clean([]byte(raw)))
}

func TestJudge_passesOnTheNonceLineOnly(t *testing.T) {
	j := Judge{Nonce: nonce}
	if v, _ := judged(t, j, bootLog); v != Pending {
		t.Errorf("a console without the line: %v, want pending", v)
	}
	if v, _ := judged(t, j, bootLog+"BOOT-TEST-OK "+nonce+"\r\n"); v != Passed {
		t.Errorf("the nonce line: %v, want passed", v)
	}
	// Another test's nonce (a stale image printing an old line) proves nothing.
	if v, _ := judged(t, j, bootLog+"BOOT-TEST-OK ffffffffffffffffffffffff\r\n"); v != Pending {
		t.Errorf("another nonce: %v, want pending", v)
	}
	if v, _ := judged(t, Judge{}, "BOOT-TEST-OK \r\n"); v != Pending {
		t.Error("an empty nonce passed")
	}
}

// The seed's user-data, echoed on the console, never holds the proving line.
func TestUserData_doesNotHoldTheProvingLine(t *testing.T) {
	ud := userData(nonce, "ttyS0")
	if v, _ := (Judge{Nonce: nonce}).Judge(ud); v != Pending {
		t.Errorf("the user-data itself passes the test:\n%s", ud)
	}
	for _, want := range []string{"#cloud-config\nruncmd:", "n=" + nonce, "tty=/dev/ttyS0", "ip route show default", "poweroff"} {
		if !strings.Contains(ud, want) {
			t.Errorf("user-data lacks %q:\n%s", want, ud)
		}
	}
}

func TestWriteSeed_freshInstanceID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seed.iso")
	if err := writeSeed(path, nonce, "ttyAMA0"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	for _, want := range []string{"instance-id: boot-test-" + nonce, "tty=/dev/ttyAMA0", "cidata"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the seed lacks %q", want)
		}
	}
}

func TestJudge_failures(t *testing.T) {
	j := Judge{Nonce: nonce}
	cases := map[string]struct{ log, want string }{
		"no root disk":    {bootLog + "Begin: Waiting for root file system ... done.\r\nGave up waiting for root file system device.  Common problems:\r\n", "did not find its root disk"},
		"initramfs shell": {"ALERT!  UUID=abc does not exist.  Dropping to a shell!\r\n", "could not mount the root file system"},
		"panic":           {"[    2.1] Kernel panic - not syncing: VFS: Unable to mount root fs\r\n", "kernel panicked"},
		"no network":      {bootLog + "BOOT-TEST-NO-NETWORK " + nonce + " lo:\r\n", "network did not come up"},
	}
	for name, c := range cases {
		v, reason := judged(t, j, c.log)
		if v != Failed || !strings.Contains(reason, c.want) {
			t.Errorf("%s: %v %q, want failed with %q", name, v, reason, c.want)
		}
	}
	if v, reason := judged(t, j, cases["no network"].log); v != Failed || !strings.HasSuffix(reason, "lo:") {
		t.Errorf("the links the guest had are not shown: %q", reason)
	}
}

func TestJudge_consolePattern(t *testing.T) {
	j := Judge{Nonce: nonce, Pattern: regexp.MustCompile(`\slogin:\s*$`)}
	if v, _ := judged(t, j, bootLog); v != Pending {
		t.Error("passed without the pattern")
	}
	if v, _ := judged(t, j, bootLog+"\r\nDebian GNU/Linux 12 boot-test ttyS0\r\n\r\nboot-test login: "); v != Passed {
		t.Error("the pattern's line did not pass")
	}
}

func TestStalled(t *testing.T) {
	waiting := console.Clean([]byte(bootLog + "Begin: Waiting for root file system ... \r\n"))
	if got := Stalled(waiting); !strings.Contains(got, "still waiting for its root disk") {
		t.Errorf("Stalled = %q", got)
	}
	if got := Stalled(console.Clean([]byte(bootLog))); got != "" {
		t.Errorf("a console that is getting on: Stalled = %q", got)
	}
}
