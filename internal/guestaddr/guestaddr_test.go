package guestaddr

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// ipNeighJSON is `ip -4 -j neigh show dev br0` output of iproute2 6.1:
// with dev given, entries carry no "dev" field.
const ipNeighJSON = `[{"dst":"192.168.77.1","lladdr":"aa:bb:cc:00:00:01","state":["STALE"]},` +
	`{"dst":"192.168.77.23","state":["FAILED"]},` +
	`{"dst":"192.168.77.40","lladdr":"52:54:00:12:34:56","state":["REACHABLE"]}]`

func TestParseNeighbors(t *testing.T) {
	got, err := ParseNeighbors([]byte(ipNeighJSON))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d entries, want 3: %v", len(got), got)
	}
	if got[1].MAC != nil || got[1].usable() {
		t.Errorf("FAILED entry without lladdr is usable: %v", got[1])
	}
	if got[2].IP != netip.MustParseAddr("192.168.77.40") || got[2].MAC.String() != "52:54:00:12:34:56" || !got[2].usable() {
		t.Errorf("entry 3 = %v", got[2])
	}
	if n, err := ParseNeighbors([]byte("[]\n")); err != nil || len(n) != 0 {
		t.Errorf("empty table: %v %v", n, err)
	}
	if _, err := ParseNeighbors([]byte("Object \"neigh\" is unknown")); err == nil {
		t.Error("non-JSON output accepted")
	}
}

func TestParseDnsmasqLeases(t *testing.T) {
	data := "1733400000 52:54:00:12:34:56 192.168.77.50 packer-x 01:52:54:00:12:34:56\n" +
		"duid 00:01:00:01:2c:aa\n" +
		"1733400000 1000 fd00::50 * 00:01\n" +
		"garbage\n" +
		"1733400001 52:54:00:aa:bb:cc 192.168.77.51 * *\n"
	got := ParseDnsmasqLeases([]byte(data))
	if len(got) != 2 || got[0].IP.String() != "192.168.77.50" || got[1].MAC.String() != "52:54:00:aa:bb:cc" {
		t.Errorf("leases = %v", got)
	}
}

func TestParseLibvirtStatus(t *testing.T) {
	data := `[
  {"ip-address": "192.168.122.10", "mac-address": "52:54:00:12:34:56", "hostname": "deb", "expiry-time": 1733400000},
  {"ip-address": "fd00::10", "mac-address": "52:54:00:12:34:56", "expiry-time": 1733400000}
]`
	got, err := ParseLibvirtStatus([]byte(data))
	if err != nil || len(got) != 1 || got[0].IP.String() != "192.168.122.10" {
		t.Errorf("leases = %v, %v", got, err)
	}
}

var guestMAC, _ = net.ParseMAC("52:54:00:12:34:56")

func neighbors(entries ...Neighbor) func(context.Context, string) ([]Neighbor, error) {
	return func(context.Context, string) ([]Neighbor, error) { return entries, nil }
}

func TestWaitFindsTheMACInTheNeighbourTable(t *testing.T) {
	table, _ := ParseNeighbors([]byte(ipNeighJSON))
	f := &Finder{Bridge: "br0", MAC: guestMAC, Neighbors: neighbors(table...), Interval: time.Millisecond}
	got, err := f.Wait(context.Background(), time.Second)
	if err != nil || got.Addr.String() != "192.168.77.40" || !strings.Contains(got.Source, "neighbour table of br0") {
		t.Fatalf("Wait = %v, %v", got, err)
	}
}

func TestWaitFallsBackToLeasesInTheSubnet(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A lease of the MAC on another network (an earlier build on another
	// bridge) must not be taken.
	write("dnsmasq.leases", "1733400000 52:54:00:12:34:56 10.0.0.9 * *\n")
	write("br0.status", `[{"ip-address":"192.168.77.60","mac-address":"52:54:00:12:34:56"}]`)
	f := &Finder{Bridge: "br0", MAC: guestMAC, Subnet: netip.MustParsePrefix("192.168.77.1/24"),
		Neighbors:  neighbors(),
		LeaseFiles: []string{filepath.Join(dir, "dnsmasq.leases"), filepath.Join(dir, "*.status")}, Interval: time.Millisecond}
	got, err := f.Wait(context.Background(), time.Second)
	if err != nil || got.Addr.String() != "192.168.77.60" || !strings.Contains(got.Source, "br0.status") {
		t.Fatalf("Wait = %v, %v", got, err)
	}
}

func TestWaitProbesAndKeepsPolling(t *testing.T) {
	var probes, reads atomic.Int32
	f := &Finder{Bridge: "br0", MAC: guestMAC, Subnet: netip.MustParsePrefix("192.168.77.1/24"),
		Neighbors: func(context.Context, string) ([]Neighbor, error) {
			if reads.Add(1) < 5 {
				return nil, nil
			}
			return []Neighbor{{IP: netip.MustParseAddr("192.168.77.70"), MAC: guestMAC, State: []string{"DELAY"}}}, nil
		},
		Probe:    func(context.Context, netip.Prefix) { probes.Add(1) },
		Interval: time.Millisecond, ProbeEvery: time.Hour,
	}
	got, err := f.Wait(context.Background(), 5*time.Second)
	if err != nil || got.Addr.String() != "192.168.77.70" {
		t.Fatalf("Wait = %v, %v", got, err)
	}
	if probes.Load() != 1 {
		t.Errorf("probed %d times, want once (ProbeEvery is an hour)", probes.Load())
	}
}

func TestWaitTimeoutSaysWhatWasSeen(t *testing.T) {
	other, _ := net.ParseMAC("aa:bb:cc:00:00:01")
	f := &Finder{Bridge: "br0", MAC: guestMAC,
		Neighbors: neighbors(Neighbor{IP: netip.MustParseAddr("192.168.77.1"), MAC: other, State: []string{"STALE"}}),
		Interval:  time.Millisecond}
	_, err := f.Wait(context.Background(), 50*time.Millisecond)
	if err == nil {
		t.Fatal("found an address that is not there")
	}
	for _, want := range []string{"52:54:00:12:34:56", "bridge br0", "50ms", "net_bridge_address_timeout", "192.168.77.1 aa:bb:cc:00:00:01 STALE", "ssh_host"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestWaitCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &Finder{Bridge: "br0", MAC: guestMAC, Neighbors: neighbors(), Interval: time.Millisecond}
	if _, err := f.Wait(ctx, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestNewProbesSmallSubnetsOnly(t *testing.T) {
	if New("br0", guestMAC, netip.MustParsePrefix("10.1.0.1/22")).Probe == nil {
		t.Error("a /22 is not probed")
	}
	if New("br0", guestMAC, netip.MustParsePrefix("10.1.0.1/16")).Probe != nil {
		t.Error("a /16 is probed")
	}
}

func TestLastAddr(t *testing.T) {
	if got := lastAddr(netip.MustParsePrefix("192.168.76.0/22")); got.String() != "192.168.79.255" {
		t.Errorf("lastAddr = %s", got)
	}
}

func TestFirstIPv4(t *testing.T) {
	_, v6, _ := net.ParseCIDR("fe80::1/64")
	v4 := &net.IPNet{IP: net.ParseIP("192.168.77.1"), Mask: net.CIDRMask(24, 32)}
	got, err := firstIPv4([]net.Addr{v6, v4})
	if err != nil || got.String() != "192.168.77.1/24" {
		t.Errorf("firstIPv4 = %v, %v", got, err)
	}
	v4long := &net.IPNet{IP: net.ParseIP("10.0.0.1"), Mask: net.CIDRMask(120, 128)}
	if got, _ := firstIPv4([]net.Addr{v4long}); got.String() != "10.0.0.1/24" {
		t.Errorf("16-byte mask: %v", got)
	}
	if _, err := firstIPv4([]net.Addr{v6}); err == nil {
		t.Error("an IPv6-only interface has an IPv4 address")
	}
}

func TestBridgeAddressLoopback(t *testing.T) {
	got, err := BridgeAddress("lo")
	if err != nil || got.Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Skipf("no lo with 127.0.0.1 here: %v %v", got, err)
	}
	if _, err := BridgeAddress("no-such-if0"); err == nil {
		t.Error("a missing interface has an address")
	}
}

// The real `ip` reads the real table: the loopback has no neighbours, and
// a missing device is an error that names it.
func TestIPNeighborsReal(t *testing.T) {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2 is not installed")
	}
	if got, err := IPNeighbors(context.Background(), "lo"); err != nil || len(got) != 0 {
		t.Fatalf("lo: %v, %v", got, err)
	}
	if _, err := IPNeighbors(context.Background(), "no-such-if0"); err == nil || !strings.Contains(err.Error(), "no-such-if0") {
		t.Fatalf("missing device: %v", err)
	}
}
