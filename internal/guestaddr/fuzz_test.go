package guestaddr

import "testing"

func FuzzParseNeighbors(f *testing.F) {
	f.Add([]byte(ipNeighJSON))
	f.Add([]byte(`[{"dst":"fe80::1","lladdr":"52:54:00:12:34:56","router":null,"state":["STALE"]}]`))
	f.Add([]byte(`[{"dst":"::ffff:1.2.3.4","lladdr":"00:11:22:33:44:55:66:77"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseNeighbors(data)
		if err != nil {
			return
		}
		for _, n := range got {
			if !n.IP.IsValid() || (n.MAC != nil && len(n.MAC) != 6) {
				t.Fatalf("invalid entry %v", n)
			}
		}
	})
}

func FuzzParseDnsmasqLeases(f *testing.F) {
	f.Add([]byte("1733400000 52:54:00:12:34:56 192.168.77.50 packer-x *\nduid 00:01\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, l := range ParseDnsmasqLeases(data) {
			if !l.IP.Is4() || len(l.MAC) != 6 {
				t.Fatalf("invalid lease %v", l)
			}
		}
	})
}

func FuzzParseLibvirtStatus(f *testing.F) {
	f.Add([]byte(`[{"ip-address":"192.168.122.10","mac-address":"52:54:00:12:34:56"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseLibvirtStatus(data)
		if err != nil {
			return
		}
		for _, l := range got {
			if !l.IP.Is4() || len(l.MAC) != 6 {
				t.Fatalf("invalid lease %v", l)
			}
		}
	})
}
