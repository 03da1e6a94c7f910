// Package hostileimage makes, for tests, disk images that would make
// qemu-img or QEMU read a host file the user never named: the images a
// hostile mirror or a careless pipeline could hand the plugin. Every test
// of the self-containment rule (the builder's sources, kvm-export's
// inputs) uses the same set, so the rule is checked against the same
// attacks everywhere.
package hostileimage

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Secret writes a stand-in for /etc/shadow (1 MiB, 0600, with a
// recognisable first line) and returns its path.
func Secret(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(path, []byte("root:$6$HOST-SECRET:19000:0:99999:7:::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 1<<20); err != nil {
		t.Fatal(err)
	}
	return path
}

// Image is one hostile image and what a refusal must name.
type Image struct {
	Name string // what kind of reference it is
	Path string
	// Want is the part of the refusal that names the reference.
	Want string
}

// BackedBy makes a qcow2 whose backing file is target, read as raw: the
// image of the issue that found the hole (qemu-img create -b /etc/shadow).
func BackedBy(t testing.TB, dir, target string) string {
	t.Helper()
	path := filepath.Join(dir, "evil.qcow2")
	QemuImg(t, "create", "-q", "-f", "qcow2", "-b", target, "-F", "raw", path)
	return path
}

// All makes every kind of hostile image against secret, in a new
// directory: a backing file, a qcow2 external data file, a VMDK whose
// extent is the secret, and a json: backing name.
func All(t testing.TB, secret string) []Image {
	t.Helper()
	dir := t.TempDir()
	dataFile := filepath.Join(dir, "datafile.qcow2")
	QemuImg(t, "create", "-q", "-f", "qcow2", "-o", "data_file="+filepath.Join(dir, "data.raw")+",data_file_raw=on", dataFile, "1M")
	extent := filepath.Join(dir, "extent.vmdk")
	descriptor := "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\n" +
		"RW 2048 FLAT \"" + secret + "\" 0\n\nddb.adapterType = \"ide\"\n"
	if err := os.WriteFile(extent, []byte(descriptor), 0o644); err != nil {
		t.Fatal(err)
	}
	jsonBacked := filepath.Join(dir, "json.qcow2")
	QemuImg(t, "create", "-q", "-f", "qcow2", "-b", `json:{"driver":"raw","file":{"driver":"file","filename":"`+secret+`"}}`, "-F", "raw", jsonBacked)
	return []Image{
		{Name: "backing file", Path: BackedBy(t, dir, secret), Want: "backing file " + secret},
		{Name: "external data file", Path: dataFile, Want: "external data file "},
		{Name: "vmdk extent", Path: extent, Want: "VMDK extent " + secret},
		{Name: "json backing file", Path: jsonBacked, Want: "backing file json:{"},
	}
}

// QemuImg runs qemu-img, skipping the test when it is not installed.
func QemuImg(t testing.TB, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (make deps)")
	}
	if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
