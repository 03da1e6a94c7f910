package kvm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
)

// bridgeLab is a bridge with a DHCP server in a network namespace of its
// own: everything the build sends stays inside it.
type bridgeLab struct {
	NS, Bridge string
	HostIP     string // the host's address on the bridge
	Prefix     string // the DHCP range's first three octets, "192.168.77."
	dir        string
}

// newBridgeLab creates the namespace, its bridge (with HostIP/24) and
// dnsmasq serving DHCP on the bridge only, and removes all of it at the
// end of the test, failed or not. Deleting the namespace deletes the
// bridge and the guest's tap device with it.
func newBridgeLab(t *testing.T) *bridgeLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("net_bridge acceptance test: needs root (it creates a network namespace, a bridge and a DHCP server)")
	}
	for _, tool := range []string{"ip", "dnsmasq", "unshare", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("net_bridge acceptance test: %s is missing (scripts/deps.sh installs iproute2 and dnsmasq-base)", tool)
		}
	}
	lab := &bridgeLab{
		NS:     fmt.Sprintf("pkrkvm-%d", os.Getpid()),
		Bridge: "br-pkrtest", HostIP: "192.168.77.1", Prefix: "192.168.77.",
		dir: t.TempDir(),
	}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	in := func(args ...string) { ip(append([]string{"-n", lab.NS}, args...)...) }
	ip("netns", "add", lab.NS)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", lab.NS).CombinedOutput(); err != nil {
			t.Errorf("deleting netns %s: %v\n%s", lab.NS, err, out)
		}
		if out, _ := exec.Command("ip", "netns", "list").Output(); regexp.MustCompile(`(?m)^` + lab.NS + `\b`).Match(out) {
			t.Errorf("netns %s is still there after the test: %s", lab.NS, out)
		}
	})
	in("link", "set", "lo", "up")
	in("link", "add", lab.Bridge, "type", "bridge")
	in("addr", "add", lab.HostIP+"/24", "dev", lab.Bridge)
	in("link", "set", lab.Bridge, "up")

	dnsmasq := exec.Command("ip", "netns", "exec", lab.NS, "dnsmasq",
		"--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--port=0",
		"--interface="+lab.Bridge, "--bind-interfaces", "--except-interface=lo",
		"--dhcp-range="+lab.Prefix+"100,"+lab.Prefix+"150,255.255.255.0,1h",
		"--dhcp-leasefile="+filepath.Join(lab.dir, "leases"),
		"--pid-file="+filepath.Join(lab.dir, "dnsmasq.pid"),
		"--user=root", "--group=root",
		"--log-dhcp", "--log-facility="+filepath.Join(lab.dir, "dnsmasq.log"))
	if err := dnsmasq.Start(); err != nil {
		t.Fatalf("starting dnsmasq: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- dnsmasq.Wait() }()
	t.Cleanup(func() {
		_ = dnsmasq.Process.Kill()
		<-exited
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(lab.dir, "dnsmasq.log"))
			t.Logf("dnsmasq's log:\n%s", log)
		}
	})
	select {
	case err := <-exited:
		log, _ := os.ReadFile(filepath.Join(lab.dir, "dnsmasq.log"))
		t.Fatalf("dnsmasq exited at start: %v\n%s", err, log)
	case <-time.After(500 * time.Millisecond):
	}
	return lab
}

// packerPrefix runs packer inside the namespace, in a mount namespace of
// its own where /etc is an overlay whose upper layer is a temporary
// directory, holding /etc/qemu/bridge.conf with `allow <bridge>`:
// qemu-bridge-helper reads that fixed path, and this host has no
// /etc/qemu. Nothing is written to the host's /etc: the overlay's writes
// land in the test's temporary directory, and the mount goes with the
// mount namespace when packer (and the QEMU it started) exits. `ip netns
// exec` also mounts the namespace's own /sys, where the builder checks the
// bridge. allow is the bridge the ACL allows.
func (lab *bridgeLab) packerPrefix(t *testing.T, allow string) []string {
	t.Helper()
	layer, err := os.MkdirTemp(lab.dir, "etc-")
	if err != nil {
		t.Fatal(err)
	}
	upper, work := filepath.Join(layer, "upper"), filepath.Join(layer, "work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := fmt.Sprintf(`set -e
mount -t overlay overlay -o lowerdir=/etc,upperdir=%s,workdir=%s /etc
mkdir -p /etc/qemu
echo 'allow %s' > /etc/qemu/bridge.conf
exec "$@"`, upper, work, allow)
	return []string{"ip", "netns", "exec", lab.NS, "unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"}
}

// TestAccBuilder_bridgeNetwork: a cloud-image build on net_bridge. First
// with an ACL that does not allow the bridge, which must fail with the fix;
// then allowed: the guest gets its address from dnsmasq by DHCP, the builder finds it by the
// guest's MAC and provisions over SSH to it, and the guest fetches a file
// of http_directory from the HTTP server on the host's bridge address,
// which does not listen on the loopback.
func TestAccBuilder_bridgeNetwork(t *testing.T) {
	env := packertest.Setup(t)
	lab := newBridgeLab(t)
	_, statErr := os.Stat("/etc/qemu")
	hadEtcQemu := statErr == nil
	const mac = "52:54:00:7e:57:01"
	httpDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(httpDir, "greeting.txt"), []byte("served-over-the-bridge\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := packertest.WriteTemplate(t, sourceBlock("bridged", env.Image, fmt.Sprintf(`
  net_bridge     = %q
  mac_address    = %q
  http_directory = %q
`, lab.Bridge, mac, httpDir))+`
build {
  sources = ["source.kvm.bridged"]
  provisioner "shell" {
    inline = [
      "ip -4 -o addr show scope global",
      "python3 -c \"import urllib.request; print('FETCHED=' + urllib.request.urlopen('http://${build.HTTPIP}:${build.HTTPPort}/greeting.txt', timeout=30).read().decode().strip())\"",
    ]
  }
  provisioner "shell-local" {
    inline = [
      "echo HTTP=${build.HTTPIP}:${build.HTTPPort}",
      "if bash -c 'exec 3<>/dev/tcp/127.0.0.1/${build.HTTPPort}' 2>/dev/null; then echo LOOPBACK=open; else echo LOOPBACK=closed; fi",
    ]
  }
}
`)
	// An ACL that allows another bridge: QEMU's helper refuses, and the
	// build says which line to add.
	denied := env.WithPrefix(lab.packerPrefix(t, "br-other")...).Run(t, dir, "build", ".")
	if denied.ExitCode == 0 {
		t.Fatalf("the build ran on a bridge the helper's ACL does not allow")
	}
	mustContain(t, denied.Output, "add the line `allow "+lab.Bridge+"` to /etc/qemu/bridge.conf", "access denied by acl file")

	res := env.WithPrefix(lab.packerPrefix(t, lab.Bridge)...).Run(t, dir, "build", "-force", ".")
	if res.ExitCode != 0 {
		t.Fatalf("bridged build failed")
	}
	mustContain(t, res.Output,
		"MAC "+mac+") to bridge "+lab.Bridge,
		"FETCHED=served-over-the-bridge",
		"HTTP="+lab.HostIP+":",
		"LOOPBACK=closed")
	found := regexp.MustCompile(`The guest is at (\S+) \(from ([^,]+),`).FindStringSubmatch(res.Output)
	if found == nil {
		t.Fatalf("the build did not say where it found the guest")
	}
	guestIP := found[1]
	if !strings.HasPrefix(guestIP, lab.Prefix) || !inDHCPRange(guestIP, lab.Prefix) {
		t.Fatalf("the guest is at %s, outside dnsmasq's range %s100-150", guestIP, lab.Prefix)
	}
	// The guest's own view of its address: the one dnsmasq leased.
	if !regexp.MustCompile(`inet ` + regexp.QuoteMeta(guestIP) + `/24 `).MatchString(res.Output) {
		t.Errorf("the guest's `ip addr` does not show %s/24", guestIP)
	}
	// The guest releases its lease when it powers off, so dnsmasq's log,
	// not its lease file, shows what it gave.
	log, _ := os.ReadFile(filepath.Join(lab.dir, "dnsmasq.log"))
	if !strings.Contains(string(log), "DHCPACK("+lab.Bridge+") "+guestIP+" "+mac) {
		t.Errorf("dnsmasq did not acknowledge %s for %s", guestIP, mac)
	}
	if _, err := os.Stat(filepath.Join(dir, "output-bridged", "bridged.qcow2")); err != nil {
		t.Errorf("no image: %v", err)
	}
	if procs := packertest.QemuProcesses(lab.Bridge); len(procs) > 0 {
		t.Errorf("QEMU left running: %v", procs)
	}
	if _, err := os.Stat("/etc/qemu"); err == nil && !hadEtcQemu {
		t.Errorf("/etc/qemu was left on the host")
	}
}

// inDHCPRange reports whether ip is prefix+100 to prefix+150.
func inDHCPRange(ip, prefix string) bool {
	var last int
	if _, err := fmt.Sscanf(strings.TrimPrefix(ip, prefix), "%d", &last); err != nil {
		return false
	}
	return last >= 100 && last <= 150
}
