package qemu

import (
	"strings"
	"testing"
)

func TestCheckMAC(t *testing.T) {
	cases := map[string]string{
		"":                  "",
		"<unknown>":         "",
		"52:54:00:12:34:56": "",
		"52-54-00-12-34-56": "",
		"5254.0012.3456":    "not a MAC address",
		"52:54:00:12:34":    "not a MAC address",
		"00:00:00:00:00:00": "all-zero",
		"01:00:5e:00:00:01": "multicast",
	}
	for mac, want := range cases {
		err := CheckMAC(mac)
		if (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("CheckMAC(%q) = %v, want %q", mac, err, want)
		}
	}
}

func TestCheckAdditionalDisks(t *testing.T) {
	ok := []AdditionalDiskOption{{Size: "1G", Label: "data"}, {Size: "2G", Label: "logs.v1"}}
	if errs := CheckAdditionalDisks("sata", ok); len(errs) != 0 {
		t.Fatalf("valid disks: %v", errs)
	}
	bad := []AdditionalDiskOption{{Size: " ", Label: "data"}, {Size: "1G", Label: "-x"}, {Size: "1G", Label: "data"}, {Size: "1G", Label: "DATA"}, {Size: "1G", Label: "<unknown>"}}
	errs := CheckAdditionalDisks("ide", bad)
	for i, want := range []string{"holds 4 disks", "size is required", `"-x" must be letters`, "used twice", "only in case"} {
		if len(errs) <= i || !strings.Contains(errs[i].Error(), want) {
			t.Fatalf("errs = %v, want %q at %d", errs, want, i)
		}
	}
	if len(errs) != 5 {
		t.Fatalf("errs = %v, want 5", errs)
	}
}
