package guestaddr

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Neighbor is one entry of the host's neighbour (ARP) table.
type Neighbor struct {
	IP    netip.Addr
	MAC   net.HardwareAddr // nil while unresolved
	State []string         // such as REACHABLE, STALE, FAILED
}

func (n Neighbor) String() string {
	mac := "(no MAC)"
	if n.MAC != nil {
		mac = n.MAC.String()
	}
	return fmt.Sprintf("%s %s %s", n.IP, mac, strings.Join(n.State, ","))
}

// usable reports whether the entry maps its address to a MAC the host saw
// answer (not a failed or still unanswered resolution).
func (n Neighbor) usable() bool {
	if n.MAC == nil || !n.IP.IsValid() {
		return false
	}
	for _, s := range n.State {
		if s == "FAILED" || s == "INCOMPLETE" {
			return false
		}
	}
	return true
}

// ParseNeighbors reads `ip -j neigh show` output (iproute2's JSON: an array
// of objects with dst, lladdr and state). Entries whose dst or lladdr does
// not parse are skipped rather than failing the whole table.
func ParseNeighbors(data []byte) ([]Neighbor, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, nil
	}
	var raw []struct {
		Dst    string   `json:"dst"`
		LLAddr string   `json:"lladdr"`
		State  []string `json:"state"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("reading `ip -j neigh` output: %w", err)
	}
	var out []Neighbor
	for _, r := range raw {
		ip, err := netip.ParseAddr(r.Dst)
		if err != nil {
			continue
		}
		n := Neighbor{IP: ip.Unmap(), State: r.State}
		if mac, err := net.ParseMAC(r.LLAddr); err == nil && len(mac) == 6 {
			n.MAC = mac
		}
		out = append(out, n)
	}
	return out, nil
}

// Lease is one DHCP lease: the address a server gave a MAC.
type Lease struct {
	IP  netip.Addr
	MAC net.HardwareAddr
}

// ParseDnsmasqLeases reads a dnsmasq lease file: one lease a line,
// "<expiry> <MAC> <IP> <hostname> <client-id>". Lines that are not an
// IPv4 lease (DHCPv6's "duid" line and leases, damaged lines) are skipped.
func ParseDnsmasqLeases(data []byte) []Lease {
	var out []Lease
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		mac, err := net.ParseMAC(f[1])
		if err != nil || len(mac) != 6 {
			continue
		}
		ip, err := netip.ParseAddr(f[2])
		if err != nil || !ip.Is4() {
			continue
		}
		out = append(out, Lease{IP: ip, MAC: mac})
	}
	return out
}

// ParseLibvirtStatus reads a libvirt network's dnsmasq status file
// (/var/lib/libvirt/dnsmasq/<bridge>.status): a JSON array of leases with
// "ip-address" and "mac-address".
func ParseLibvirtStatus(data []byte) ([]Lease, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, nil
	}
	var raw []struct {
		IP  string `json:"ip-address"`
		MAC string `json:"mac-address"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("reading libvirt's lease status: %w", err)
	}
	var out []Lease
	for _, r := range raw {
		mac, err := net.ParseMAC(r.MAC)
		if err != nil || len(mac) != 6 {
			continue
		}
		ip, err := netip.ParseAddr(r.IP)
		if err != nil || !ip.Is4() {
			continue
		}
		out = append(out, Lease{IP: ip, MAC: mac})
	}
	return out, nil
}
