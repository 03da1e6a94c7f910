package firmware

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMachineMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern, machine string
		want             bool
	}{
		{"pc-q35-*", "q35", true},
		{"pc-q35-*", "pc-q35-8.2", true},
		{"pc-q35-*", "pc-q35-rhel9.4.0", true},
		{"pc-q35-*", "q35,smm=on", true},
		{"pc-q35-*", "pc", false},
		{"pc-i440fx-*", "pc", true},
		{"pc-i440fx-*", "pc-i440fx-7.2", true},
		{"pc-i440fx-*", "q35", false},
		{"virt-*", "virt", true},
		{"virt-*", "virt,gic-version=max,highmem=on", true},
		{"virt-*", "virt-9.0", true},
		{"virt-*", "sbsa-ref", false},
		{"pc-q35-[0-9]*", "q35", true},
		// A pattern pinned to some versions cannot be known to cover the
		// alias, whose version is the newest QEMU's.
		{"pc-q35-2.*", "q35", false},
		{"pc-q35-2.*", "pc-q35-2.12", true},
		{"q35", "q35", true},
		{"microvm", "microvm", true},
		{"pc-q35-[", "pc-q35-[", true}, // a malformed pattern matches only itself
		{"pc-q35-[", "q35", false},
	} {
		if got := MachineMatches(tc.pattern, tc.machine); got != tc.want {
			t.Errorf("MachineMatches(%q, %q) = %v, want %v", tc.pattern, tc.machine, got, tc.want)
		}
	}
}

// flashDesc is a split flash descriptor.
func flashDesc(t *testing.T, arch, machine, code, vars, format string, features ...string) string {
	t.Helper()
	d := Descriptor{
		InterfaceTypes: []string{"uefi"},
		Mapping: Mapping{Device: "flash",
			Executable:    &FlashFile{Filename: code, Format: format},
			NVRAMTemplate: &FlashFile{Filename: vars, Format: format}},
		Targets:  []Target{{Architecture: arch, Machines: []string{machine}}},
		Features: append([]string{}, features...),
	}
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

const fw = "usr/share/qemu/firmware/"

// plainSet is a distribution's three x86 descriptors (Debian's shape) and
// their firmware files.
func plainSet(t *testing.T) map[string]string {
	return map[string]string{
		fw + "40-enrolled.json": flashDesc(t, "x86_64", "pc-q35-*", "/fw/CODE.secboot.fd", "/fw/VARS.ms.fd", "raw", "enrolled-keys", "requires-smm", "secure-boot"),
		fw + "50-secure.json":   flashDesc(t, "x86_64", "pc-q35-*", "/fw/CODE.secboot.fd", "/fw/VARS.fd", "raw", "requires-smm", "secure-boot"),
		fw + "60-plain.json":    flashDesc(t, "x86_64", "pc-q35-*", "/fw/CODE.fd", "/fw/VARS.fd", "raw", "amd-sev"),
		"fw/CODE.secboot.fd":    "code sb",
		"fw/CODE.fd":            "code",
		"fw/VARS.fd":            "vars",
		"fw/VARS.ms.fd":         "vars ms",
	}
}

func selectIn(t *testing.T, files map[string]string, q Query) (*Selection, string, error) {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, files)
	sel, err := Load(root, testDirs).Select(q)
	return sel, root, err
}

func q35(secureBoot bool) Query { return Query{Arch: "x86_64", Machine: "q35", SecureBoot: secureBoot} }

func TestSelectPlainPrefersNoSecureBoot(t *testing.T) {
	sel, root, err := selectIn(t, plainSet(t), q35(false))
	if err != nil {
		t.Fatal(err)
	}
	if sel.Entry.Name != "60-plain.json" || sel.Code.Filename != filepath.Join(root, "fw/CODE.fd") || sel.Vars.Filename != filepath.Join(root, "fw/VARS.fd") {
		t.Fatalf("selected %s: %+v %+v", sel.Entry.Name, sel.Code, sel.Vars)
	}
	if sel.RequiresSMM || sel.SecureVars || sel.Code.Format != "raw" {
		t.Fatalf("selection = %+v", sel)
	}
}

func TestSelectPlainFallsBackToSecureBootWithoutKeys(t *testing.T) {
	files := plainSet(t)
	delete(files, fw+"60-plain.json")
	sel, _, err := selectIn(t, files, q35(false))
	if err != nil {
		t.Fatal(err)
	}
	if sel.Entry.Name != "50-secure.json" || !sel.RequiresSMM || !sel.SecureVars {
		t.Fatalf("selected %s (smm %v, secure vars %v), want 50-secure.json with SMM", sel.Entry.Name, sel.RequiresSMM, sel.SecureVars)
	}
}

func TestSelectPlainNeverEnforcesSecureBoot(t *testing.T) {
	files := plainSet(t)
	delete(files, fw+"60-plain.json")
	delete(files, fw+"50-secure.json")
	_, _, err := selectIn(t, files, q35(false))
	var nm *NoMatchError
	if !errors.As(err, &nm) {
		t.Fatalf("err = %v, want a NoMatchError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "40-enrolled.json: has feature enrolled-keys") || !strings.Contains(msg, "secure_boot = true") {
		t.Fatalf("message does not say why 40-enrolled.json was skipped:\n%s", msg)
	}
}

func TestSelectSecureBoot(t *testing.T) {
	sel, root, err := selectIn(t, plainSet(t), q35(true))
	if err != nil {
		t.Fatal(err)
	}
	if sel.Entry.Name != "40-enrolled.json" || sel.Vars.Filename != filepath.Join(root, "fw/VARS.ms.fd") || !sel.RequiresSMM || !sel.SecureVars {
		t.Fatalf("selected %s: %+v", sel.Entry.Name, sel)
	}
}

func TestSelectSecureBootNeedsSMMOnX86Only(t *testing.T) {
	noSMM := map[string]string{
		fw + "40-enrolled.json": flashDesc(t, "x86_64", "pc-q35-*", "/fw/CODE.fd", "/fw/VARS.fd", "raw", "enrolled-keys", "secure-boot"),
		fw + "41-enrolled.json": flashDesc(t, "aarch64", "virt-*", "/fw/CODE.fd", "/fw/VARS.fd", "raw", "enrolled-keys", "secure-boot"),
		"fw/CODE.fd":            "c",
		"fw/VARS.fd":            "v",
	}
	_, _, err := selectIn(t, noSMM, q35(true))
	if err == nil || !strings.Contains(err.Error(), "lacks feature requires-smm") {
		t.Fatalf("x86 Secure Boot without SMM: err = %v", err)
	}
	sel, _, err := selectIn(t, noSMM, Query{Arch: "aarch64", Machine: "virt", SecureBoot: true})
	if err != nil || sel.Entry.Name != "41-enrolled.json" || sel.RequiresSMM {
		t.Fatalf("aarch64 Secure Boot: %+v, %v", sel, err)
	}
}

func TestSelectSkipsWhatTheBuilderCannotRun(t *testing.T) {
	good := flashDesc(t, "x86_64", "pc-q35-*", "/fw/CODE.fd", "/fw/VARS.fd", "raw")
	for name, tc := range map[string]struct{ desc, reason string }{
		"bios": {`{"interface-types": ["bios"], "mapping": {"device": "memory", "filename": "/fw/CODE.fd"}, "targets": [{"architecture": "x86_64", "machines": ["pc-q35-*"]}]}`,
			"not UEFI"},
		"other arch":    {flashDesc(t, "i386", "pc-q35-*", "/fw/CODE.fd", "/fw/VARS.fd", "raw"), "for i386, not x86_64"},
		"other machine": {flashDesc(t, "x86_64", "pc-i440fx-*", "/fw/CODE.fd", "/fw/VARS.fd", "raw"), "machines pc-i440fx-*, not q35"},
		"memory": {`{"interface-types": ["uefi"], "mapping": {"device": "memory", "filename": "/fw/CODE.fd"}, "targets": [{"architecture": "x86_64", "machines": ["pc-q35-*"]}]}`,
			`device "memory"`},
		"stateless": {`{"interface-types": ["uefi"], "mapping": {"device": "flash", "mode": "stateless", "executable": {"filename": "/fw/CODE.fd", "format": "raw"}}, "targets": [{"architecture": "x86_64", "machines": ["pc-q35-*"]}], "features": ["amd-sev", "amd-sev-es", "amd-sev-snp"]}`,
			`flash mode "stateless"`},
		"combined": {`{"interface-types": ["uefi"], "mapping": {"device": "flash", "mode": "combined", "executable": {"filename": "/fw/CODE.fd", "format": "raw"}}, "targets": [{"architecture": "x86_64", "machines": ["pc-q35-*"]}]}`,
			`flash mode "combined"`},
		"format":       {flashDesc(t, "x86_64", "pc-q35-*", "/fw/CODE.fd", "/fw/VARS.fd", "vmdk"), `format "vmdk"`},
		"host vars":    {flashDesc(t, "x86_64", "pc-q35-*", "/fw/CODE.fd", "/fw/VARS.fd", "raw", "host-uefi-vars"), "host-uefi-vars"},
		"missing file": {flashDesc(t, "x86_64", "pc-q35-*", "/fw/CODE.fd", "/fw/NOPE.fd", "raw"), "NOPE.fd is missing"},
		"no targets":   {`{"interface-types": ["uefi"], "mapping": {"device": "memory", "filename": "/m"}, "targets": []}`, "lists no targets"},
		"invalid":      {`{"interface-types": ["uefi"]`, "unusable"},
	} {
		t.Run(name, func(t *testing.T) {
			files := map[string]string{fw + "10-odd.json": tc.desc, "fw/CODE.fd": "c", "fw/VARS.fd": "v"}
			_, _, err := selectIn(t, files, q35(false))
			if err == nil || !strings.Contains(err.Error(), "10-odd.json: ") || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err = %v, want 10-odd.json skipped for %q", err, tc.reason)
			}
			// And with a usable descriptor after it, that one is chosen.
			files[fw+"90-good.json"] = good
			sel, _, err := selectIn(t, files, q35(false))
			if err != nil || sel.Entry.Name != "90-good.json" {
				t.Fatalf("with a good descriptor too: %+v, %v", sel, err)
			}
		})
	}
}

// The confidential-computing features say what the firmware supports, not
// what it needs: Debian and Ubuntu mark every x86 build "amd-sev".
func TestSelectKeepsConfidentialComputingCapableFirmware(t *testing.T) {
	files := map[string]string{
		fw + "50-ovmf.json": flashDesc(t, "x86_64", "pc-q35-*", "/fw/CODE.fd", "/fw/VARS.fd", "qcow2", "amd-sev", "amd-sev-es", "intel-tdx", "verbose-dynamic"),
		"fw/CODE.fd":        "c",
		"fw/VARS.fd":        "v",
	}
	sel, _, err := selectIn(t, files, q35(false))
	if err != nil || sel.Code.Format != "qcow2" || sel.Vars.Format != "qcow2" {
		t.Fatalf("%+v, %v", sel, err)
	}
}

func TestSelectOrderAndOverride(t *testing.T) {
	files := map[string]string{
		fw + "50-b.json": flashDesc(t, "x86_64", "pc-q35-*", "/fw/B.fd", "/fw/VARS.fd", "raw"),
		fw + "60-c.json": flashDesc(t, "x86_64", "pc-q35-*", "/fw/C.fd", "/fw/VARS.fd", "raw"),
		"fw/A.fd":        "a", "fw/B.fd": "b", "fw/C.fd": "c", "fw/VARS.fd": "v",
	}
	sel, _, err := selectIn(t, files, q35(false))
	if err != nil || sel.Entry.Name != "50-b.json" {
		t.Fatalf("first in name order: %+v, %v", sel, err)
	}
	// The administrator adds one that sorts first.
	files["etc/qemu/firmware/10-a.json"] = flashDesc(t, "x86_64", "pc-q35-*", "/fw/A.fd", "/fw/VARS.fd", "raw")
	if sel, _, err = selectIn(t, files, q35(false)); err != nil || sel.Entry.Name != "10-a.json" {
		t.Fatalf("admin's 10-a.json: %+v, %v", sel, err)
	}
	// The user masks it and the distribution's 50-b.json.
	files["home/u/.config/qemu/firmware/10-a.json"] = ""
	files["home/u/.config/qemu/firmware/50-b.json"] = ""
	if sel, _, err = selectIn(t, files, q35(false)); err != nil || sel.Entry.Name != "60-c.json" {
		t.Fatalf("with masks: %+v, %v", sel, err)
	}
}

func TestNoMatchErrorSaysWhatWasLookedForAndFound(t *testing.T) {
	_, root, err := selectIn(t, plainSet(t), Query{Arch: "aarch64", Machine: "virt,gic-version=max", SecureBoot: false})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		"UEFI firmware for aarch64 machine virt (virt-*)",
		"/etc/qemu/firmware", "/usr/share/qemu/firmware",
		filepath.Join(root, fw, "40-enrolled.json") + ": for x86_64, not aarch64",
		filepath.Join(root, fw, "60-plain.json") + ": for x86_64, not aarch64",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	_, _, err = selectIn(t, plainSet(t), Query{Arch: "x86_64", Machine: "pc", SecureBoot: true})
	if err == nil || !strings.Contains(err.Error(), "with features secure-boot, enrolled-keys, requires-smm") {
		t.Errorf("Secure Boot query: %v", err)
	}
}

// copyTree copies a fixture root, so that a test can add to it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		switch {
		case info.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

type fixtureCase struct {
	name       string
	query      Query
	descriptor string // "" when nothing matches
	code, vars string
	format     string
	smm        bool
	// mask lists descriptors an empty /etc/qemu/firmware file hides.
	mask []string
}

func runFixture(t *testing.T, fixture string, cases []fixtureCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join("testdata", fixture)
			if len(tc.mask) > 0 {
				root = copyTree(t, root)
				for _, name := range tc.mask {
					writeFiles(t, root, map[string]string{"etc/qemu/firmware/" + name: ""})
				}
			}
			sel, err := Load(root, testDirs).Select(tc.query)
			if tc.descriptor == "" {
				if err == nil {
					t.Fatalf("selected %s, want no match", sel.Entry.Name)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{sel.Entry.Name, sel.Code.Filename, sel.Vars.Filename, sel.Code.Format, sel.Vars.Format}
			want := []string{tc.descriptor, filepath.Join(root, tc.code), filepath.Join(root, tc.vars), tc.format, tc.format}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("selected\n %q\nwant\n %q", got, want)
			}
			if sel.RequiresSMM != tc.smm || sel.SecureVars != tc.smm {
				t.Fatalf("SMM %v, secure vars %v, want %v", sel.RequiresSMM, sel.SecureVars, tc.smm)
			}
		})
	}
}

// Fedora's edk2 descriptors, from Fedora's edk2 dist-git
// (src.fedoraproject.org/rpms/edk2, mirrored at
// github.com/Server99-industries/edk2, commit 9c79c0c4; edk2.spec's
// %install and %files list them and their firmware files; see
// testdata/README.md): the 4 MiB builds are qcow2 and sort before the 2 MiB
// raw ones.
func TestSelectFedora(t *testing.T) {
	runFixture(t, "fedora", []fixtureCase{
		{name: "q35", query: q35(false), descriptor: "50-edk2-ovmf-4m-qcow2-x64-nosb.json",
			code: "/usr/share/edk2/ovmf/OVMF_CODE_4M.qcow2", vars: "/usr/share/edk2/ovmf/OVMF_VARS_4M.qcow2", format: "qcow2"},
		{name: "pc", query: Query{Arch: "x86_64", Machine: "pc"}, descriptor: "50-edk2-ovmf-4m-qcow2-x64-nosb.json",
			code: "/usr/share/edk2/ovmf/OVMF_CODE_4M.qcow2", vars: "/usr/share/edk2/ovmf/OVMF_VARS_4M.qcow2", format: "qcow2"},
		{name: "q35 secure boot", query: q35(true), descriptor: "30-edk2-ovmf-4m-qcow2-x64-sb-enrolled.json",
			code: "/usr/share/edk2/ovmf/OVMF_CODE_4M.secboot.qcow2", vars: "/usr/share/edk2/ovmf/OVMF_VARS_4M.secboot.qcow2", format: "qcow2", smm: true},
		{name: "versioned q35", query: Query{Arch: "x86_64", Machine: "pc-q35-8.2"}, descriptor: "50-edk2-ovmf-4m-qcow2-x64-nosb.json",
			code: "/usr/share/edk2/ovmf/OVMF_CODE_4M.qcow2", vars: "/usr/share/edk2/ovmf/OVMF_VARS_4M.qcow2", format: "qcow2"},
		{name: "4m masked: the 2m raw build", query: q35(false), mask: []string{"50-edk2-ovmf-4m-qcow2-x64-nosb.json"},
			descriptor: "51-edk2-ovmf-2m-raw-x64-nosb.json", code: "/usr/share/edk2/ovmf/OVMF_CODE.fd", vars: "/usr/share/edk2/ovmf/OVMF_VARS.fd", format: "raw"},
		{name: "no plain build: secure boot capable, keys not enrolled", query: q35(false),
			mask:       []string{"50-edk2-ovmf-4m-qcow2-x64-nosb.json", "51-edk2-ovmf-2m-raw-x64-nosb.json"},
			descriptor: "40-edk2-ovmf-4m-qcow2-x64-sb.json", code: "/usr/share/edk2/ovmf/OVMF_CODE_4M.secboot.qcow2", vars: "/usr/share/edk2/ovmf/OVMF_VARS_4M.qcow2", format: "qcow2", smm: true},
		{name: "aarch64 virt", query: Query{Arch: "aarch64", Machine: "virt,gic-version=max,highmem=on"}, descriptor: "50-edk2-aarch64-qcow2.json",
			code: "/usr/share/edk2/aarch64/QEMU_EFI-silent-pflash.qcow2", vars: "/usr/share/edk2/aarch64/vars-template-pflash.qcow2", format: "qcow2"},
		{name: "aarch64 secure boot: none", query: Query{Arch: "aarch64", Machine: "virt", SecureBoot: true}},
		{name: "microvm: memory-mapped only", query: Query{Arch: "x86_64", Machine: "microvm"}},
	})
}

// Ubuntu 24.04's ovmf and qemu-efi-aarch64, from Debian's edk2 packaging
// at release 2024.02-2 (debian/descriptors, debian/*.install and
// debian/*.links, mirrored at github.com/byteit101/edk2-debian, commit
// 09bab578; see testdata/README.md): 4 MiB raw builds only; the Secure
// Boot descriptor names OVMF_CODE_4M.ms.fd, a symlink to
// OVMF_CODE_4M.secboot.fd.
func TestSelectUbuntu2404(t *testing.T) {
	runFixture(t, "ubuntu-24.04", []fixtureCase{
		{name: "q35", query: q35(false), descriptor: "60-edk2-x86_64.json",
			code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.fd", format: "raw"},
		{name: "pc", query: Query{Arch: "x86_64", Machine: "pc"}, descriptor: "60-edk2-x86_64.json",
			code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.fd", format: "raw"},
		{name: "q35 secure boot", query: q35(true), descriptor: "40-edk2-x86_64-secure-enrolled.json",
			code: "/usr/share/OVMF/OVMF_CODE_4M.ms.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", format: "raw", smm: true},
		{name: "plain masked", query: q35(false), mask: []string{"60-edk2-x86_64.json"}, descriptor: "50-edk2-x86_64-secure.json",
			code: "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.fd", format: "raw", smm: true},
		{name: "plain masked, pc", query: Query{Arch: "x86_64", Machine: "pc"}, mask: []string{"60-edk2-x86_64.json"}},
		{name: "aarch64 virt", query: Query{Arch: "aarch64", Machine: "virt"}, descriptor: "60-edk2-aarch64.json",
			code: "/usr/share/AAVMF/AAVMF_CODE.no-secboot.fd", vars: "/usr/share/AAVMF/AAVMF_VARS.fd", format: "raw"},
		{name: "aarch64 secure boot", query: Query{Arch: "aarch64", Machine: "virt", SecureBoot: true}, descriptor: "40-edk2-aarch64-secure-enrolled.json",
			code: "/usr/share/AAVMF/AAVMF_CODE.ms.fd", vars: "/usr/share/AAVMF/AAVMF_VARS.ms.fd", format: "raw"},
	})
}
