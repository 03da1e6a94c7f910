// Package guestaddr finds the address a guest on a host bridge got, from
// what the host can see of it by the guest's MAC: the host's neighbour
// (ARP) table on the bridge, then the lease files of the DHCP servers
// commonly run on a host's bridges (dnsmasq's own and libvirt's).
package guestaddr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// DefaultLeaseFiles are the lease files read, as glob patterns: dnsmasq's
// default lease file (Debian's path; /var/lib/dnsmasq on Fedora) and the
// status files of libvirt's networks.
var DefaultLeaseFiles = []string{
	"/var/lib/misc/dnsmasq.leases",
	"/var/lib/dnsmasq/dnsmasq.leases",
	"/var/lib/libvirt/dnsmasq/*.status",
}

// maxProbeBits bounds the subnet Finder probes: a /22 is 1022 addresses.
const maxProbeBits = 10

// Finder finds the IPv4 address of the guest with MAC on Bridge.
type Finder struct {
	Bridge string
	MAC    net.HardwareAddr
	// Subnet is the host's own network on the bridge: leases outside it
	// are ignored, and the probe sends to every address in it. Its zero
	// value disables both.
	Subnet netip.Prefix
	// Neighbors reads the host's IPv4 neighbour table on a bridge.
	Neighbors func(ctx context.Context, bridge string) ([]Neighbor, error)
	// LeaseFiles are glob patterns of dnsmasq lease files and libvirt
	// status files (the latter end in ".status").
	LeaseFiles []string
	// Probe makes the host resolve every address of the subnet, so that
	// the guest enters the neighbour table even when the host is not its
	// DHCP server and has not talked to it yet; nil disables it.
	Probe func(ctx context.Context, subnet netip.Prefix)
	// Interval is how often the sources are read; ProbeEvery how often
	// the subnet is probed.
	Interval, ProbeEvery time.Duration
}

// New is a Finder that reads this host's neighbour table with `ip` and
// the default lease files, and probes subnet when it is a /22 or smaller.
func New(bridge string, mac net.HardwareAddr, subnet netip.Prefix) *Finder {
	f := &Finder{
		Bridge: bridge, MAC: mac, Subnet: subnet,
		Neighbors:  IPNeighbors,
		LeaseFiles: DefaultLeaseFiles,
		Interval:   time.Second, ProbeEvery: 10 * time.Second,
	}
	if subnet.IsValid() && subnet.Addr().Is4() && 32-subnet.Bits() <= maxProbeBits {
		f.Probe = ProbeSubnet
	}
	return f
}

// Found is where the address came from.
type Found struct {
	Addr   netip.Addr
	Source string
}

// Wait polls the sources until one names an IPv4 address for the MAC, ctx
// ends or timeout passes. Its error says what the host saw on the bridge.
func (f *Finder) Wait(ctx context.Context, timeout time.Duration) (Found, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	interval := f.Interval
	if interval <= 0 {
		interval = time.Second
	}
	var lastProbe time.Time
	var seen []Neighbor
	for {
		found, neighbors, err := f.lookOnce(ctx)
		if err == nil && found.Addr.IsValid() {
			return found, nil
		}
		seen = neighbors
		if f.Probe != nil && time.Since(lastProbe) >= f.ProbeEvery {
			lastProbe = time.Now()
			f.Probe(ctx, f.Subnet)
		}
		select {
		case <-ctx.Done():
			if parent := context.Cause(ctx); errors.Is(parent, context.DeadlineExceeded) {
				return Found{}, f.notFound(timeout, seen, err)
			}
			return Found{}, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// lookOnce reads the sources once, neighbour table first: it shows the
// guest as it is now, while a lease may be left from an earlier boot.
func (f *Finder) lookOnce(ctx context.Context) (Found, []Neighbor, error) {
	var neighbors []Neighbor
	var err error
	if f.Neighbors != nil {
		neighbors, err = f.Neighbors(ctx, f.Bridge)
		for _, n := range neighbors {
			if n.usable() && n.IP.Is4() && bytes.Equal(n.MAC, f.MAC) {
				return Found{n.IP, "the neighbour table of " + f.Bridge}, neighbors, nil
			}
		}
	}
	for _, file := range f.leaseFiles() {
		for _, l := range readLeases(file) {
			if bytes.Equal(l.MAC, f.MAC) && (!f.Subnet.IsValid() || f.Subnet.Contains(l.IP)) {
				return Found{l.IP, "DHCP lease file " + file}, neighbors, nil
			}
		}
	}
	return Found{}, neighbors, err
}

func (f *Finder) leaseFiles() []string {
	var files []string
	for _, pattern := range f.LeaseFiles {
		matches, _ := filepath.Glob(pattern)
		files = append(files, matches...)
	}
	return files
}

// readLeases reads one lease file; a file that is missing or unreadable
// (libvirt's are root's) has no leases for us.
func readLeases(file string) []Lease {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	if strings.HasSuffix(file, ".status") {
		leases, _ := ParseLibvirtStatus(data)
		return leases
	}
	return ParseDnsmasqLeases(data)
}

func (f *Finder) notFound(timeout time.Duration, seen []Neighbor, lastErr error) error {
	var b strings.Builder
	fmt.Fprintf(&b, "no IPv4 address seen for the guest's MAC %s on bridge %s within %s (net_bridge_address_timeout)", f.MAC, f.Bridge, timeout)
	if len(seen) == 0 {
		fmt.Fprintf(&b, "; the host's neighbour table on %s is empty", f.Bridge)
	} else {
		parts := make([]string, len(seen))
		for i, n := range seen {
			parts[i] = n.String()
		}
		fmt.Fprintf(&b, "; neighbours seen on %s: %s", f.Bridge, strings.Join(parts, "; "))
	}
	if lastErr != nil {
		fmt.Fprintf(&b, " (reading them failed: %v)", lastErr)
	}
	fmt.Fprintf(&b, ". Lease files read: %s. Check that a DHCP server answers on %s and that the image configures its network card by DHCP, or give the guest's address in ssh_host", strings.Join(f.leaseFilesOrNone(), ", "), f.Bridge)
	return errors.New(b.String())
}

func (f *Finder) leaseFilesOrNone() []string {
	if files := f.leaseFiles(); len(files) > 0 {
		return files
	}
	return []string{"none found"}
}

// IPNeighbors reads the host's IPv4 neighbour table on bridge with
// iproute2's `ip -4 -j neigh show dev <bridge>`.
func IPNeighbors(ctx context.Context, bridge string) ([]Neighbor, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ip", "-4", "-j", "neigh", "show", "dev", bridge)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ip neigh show dev %s: %w: %s", bridge, err, strings.TrimSpace(stderr.String()))
	}
	return ParseNeighbors(out)
}

// ProbeSubnet sends one UDP datagram to the discard port of every host
// address of subnet: the kernel resolves each address first, so every
// machine that answers ARP enters the neighbour table. It needs no
// privilege and nothing in the guest has to listen.
func ProbeSubnet(ctx context.Context, subnet netip.Prefix) {
	conn, err := net.ListenPacket("udp4", ":0")
	if err != nil {
		return
	}
	defer conn.Close()
	subnet = subnet.Masked()
	last := lastAddr(subnet)
	for a := subnet.Addr().Next(); a.IsValid() && a.Less(last) && ctx.Err() == nil; a = a.Next() {
		_, _ = conn.WriteTo([]byte{0}, net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 9)))
	}
}

// lastAddr is the subnet's broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// BridgeAddress is the host's first IPv4 address on the network interface
// name, with its prefix: the address a guest on that bridge reaches the
// host at.
func BridgeAddress(name string) (netip.Prefix, error) {
	iface, err := net.InterfaceByName(name)
	if err != nil {
		return netip.Prefix{}, err
	}
	addrs, err := iface.Addrs()
	if err != nil {
		return netip.Prefix{}, err
	}
	return firstIPv4(addrs)
}

func firstIPv4(addrs []net.Addr) (netip.Prefix, error) {
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok || ipnet.IP.To4() == nil {
			continue
		}
		ip, _ := netip.AddrFromSlice(ipnet.IP.To4())
		ones, bits := ipnet.Mask.Size()
		if bits == 8*net.IPv6len {
			ones -= 8 * (net.IPv6len - net.IPv4len) // an IPv4 mask in 16-byte form
		}
		return netip.PrefixFrom(ip, ones), nil
	}
	return netip.Prefix{}, errNoIPv4
}

var errNoIPv4 = errors.New("it has no IPv4 address")
