package cloudimage

import (
	"strings"
	"testing"
)

func TestParseIndex_formats(t *testing.T) {
	cases := map[string]struct {
		data             string
		entries, skipped int
		first            indexEntry
	}{
		"debian gnu sha512":  {debianSums, 5, 0, indexEntry{"debian-12-genericcloud-amd64-20240102-1614.qcow2", "sha512", sha512hex("a")}},
		"ubuntu binary mode": {ubuntuSums, 3, 0, indexEntry{"noble-server-cloudimg-amd64.img", "sha256", sha256hex("noble")}},
		"fedora bsd":         {fedoraChecksum, 2, 0, indexEntry{"Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2", "sha256", sha256hex("f41")}},
		"malformed lines": {"not a checksum line\n" + strings.ToUpper(sha256hex("x")) + "  good.img\nabc  short.img\n",
			1, 2, indexEntry{"good.img", "sha256", sha256hex("x")}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			idx, err := parseIndex([]byte(tc.data), "SHA256SUMS")
			if err != nil {
				t.Fatal(err)
			}
			if len(idx.Entries) != tc.entries || idx.Skipped != tc.skipped {
				t.Fatalf("%d entries, %d skipped; want %d, %d", len(idx.Entries), idx.Skipped, tc.entries, tc.skipped)
			}
			if idx.Entries[0] != tc.first {
				t.Fatalf("first entry %+v, want %+v", idx.Entries[0], tc.first)
			}
		})
	}
}

func TestParseIndex_insideAClearSignedMessage(t *testing.T) {
	idx, err := parseIndex([]byte(clearSigned(t, signingKey(t), fedoraChecksum)), "SHA256SUMS")
	if err != nil || len(idx.Entries) != 2 || idx.Skipped != 0 {
		t.Fatalf("entries %v err %v", idx, err)
	}
}

func TestParseIndex_nothingReadableIsAnError(t *testing.T) {
	_, err := parseIndex([]byte("<html>\n<body>Not Found</body>\n</html>\n"), "SHA256SUMS")
	if err == nil || !strings.Contains(err.Error(), "3 lines skipped") {
		t.Fatalf("want an error counting the skipped lines, got %v", err)
	}
}

func TestParseIndex_bsdTagMustFitTheDigest(t *testing.T) {
	idx, _ := parseIndex([]byte("SHA512 (a.img) = "+sha256hex("a")+"\nSHA256 (b.img) = "+sha256hex("b")+"\n"), "SHA256SUMS")
	if len(idx.Entries) != 1 || idx.Entries[0].Name != "b.img" || idx.Skipped != 1 {
		t.Fatalf("a SHA512 tag with a SHA-256 digest must be skipped: %+v", idx)
	}
}

// A per-file index may hold a digest alone (Alpine's cloud images): the
// name is the index's own, less its checksum suffix, whose algorithm the
// digest must fit.
func TestParseIndex_digestAlone(t *testing.T) {
	cases := []struct {
		indexName, digest, want string
	}{
		{"nocloud_alpine-3.20.3-x86_64-bios-cloudinit-r0.qcow2.sha512", sha512hex("a"), "nocloud_alpine-3.20.3-x86_64-bios-cloudinit-r0.qcow2"},
		{"Arch-Linux-x86_64-cloudimg.qcow2.SHA256", sha256hex("a"), "Arch-Linux-x86_64-cloudimg.qcow2"},
		{"CentOS-Stream-GenericCloud-9-latest.x86_64.qcow2.SHA256SUM", sha256hex("a"), "CentOS-Stream-GenericCloud-9-latest.x86_64.qcow2"},
		{"image.qcow2.sha512", sha256hex("a"), ""}, // the suffix promises SHA-512
		{"SHA256SUMS", sha256hex("a"), ""},         // names no file
		{".sha256", sha256hex("a"), ""},
	}
	for _, tc := range cases {
		idx, err := parseIndex([]byte(tc.digest+"\r\n"), tc.indexName)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%s: a digest alone was read as %+v", tc.indexName, idx.Entries)
		case tc.want != "" && (err != nil || idx.Entries[0].Name != tc.want || idx.Entries[0].Digest != tc.digest):
			t.Errorf("%s: entries %v, err %v; want %s", tc.indexName, idx, err, tc.want)
		}
	}
}
