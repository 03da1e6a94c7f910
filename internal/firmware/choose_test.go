package firmware

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The descriptor fixture sets (testdata/README.md says where each comes
// from), used as file-system roots.
var (
	fedoraRoot = filepath.Join("testdata", "fedora")
	ubuntuRoot = filepath.Join("testdata", "ubuntu-24.04")
)

// descriptorRequest is a request that reads the system directories under
// root.
func descriptorRequest(root, arch, machine string) Request {
	return Request{Arch: arch, Machine: machine, DescriptorRoot: root, DescriptorDirs: []string{SysconfDir, DistroDir}}
}

// mapped is what a build maps: the choice, the code file (padded or not)
// and the build's own variables copy.
type mapped struct {
	Choice
	code string
	vars FlashFile
}

// prepare does what a UEFI build does with a request: choose, copy the
// variables into a work directory, pad to bankSize.
func prepare(t *testing.T, req Request, bankSize int64) (mapped, error) {
	t.Helper()
	work := t.TempDir()
	fw, err := Choose(req)
	if err != nil {
		return mapped{}, err
	}
	vars, err := CopyVars(fw.Vars, work)
	if err != nil {
		return mapped{}, err
	}
	code, err := PadToBank(fw.Code, vars, bankSize, work)
	if err != nil {
		return mapped{}, err
	}
	return mapped{Choice: fw, code: code, vars: vars}, nil
}

// Ubuntu 24.04 (and Debian 12): the plain 4 MiB build, raw, described by
// 60-edk2-x86_64.json, and the UI line says so.
func TestChoose_descriptorChoosesThePlainBuild(t *testing.T) {
	m, err := prepare(t, descriptorRequest(ubuntuRoot, "x86_64", "q35"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(ubuntuRoot, "/usr/share/OVMF/OVMF_CODE_4M.fd"); m.code != want {
		t.Fatalf("code %v, want %s", m.code, want)
	}
	if filepath.Base(m.vars.Filename) != "efivars.fd" || m.Code.Format != "raw" || m.Vars.Format != "raw" || m.SMM {
		t.Fatalf("vars %s, formats %v/%v, smm %v", m.vars.Filename, m.Code.Format, m.Vars.Format, m.SMM)
	}
	if data, _ := os.ReadFile(m.vars.Filename); !strings.Contains(string(data), "OVMF_VARS_4M.fd") {
		t.Fatalf("the variables copy holds %q", data)
	}
	if line := m.Describe(false); !strings.Contains(line, "QEMU firmware descriptor "+filepath.Join(ubuntuRoot, "usr/share/qemu/firmware/60-edk2-x86_64.json")) {
		t.Fatalf("the UI line does not name the descriptor: %s", line)
	}
}

// Fedora's 4 MiB OVMF is qcow2: mapped as qcow2, its variables copied as
// qcow2, and (on an aarch64 board with fixed flash banks) never padded.
func TestChoose_qcow2FirmwareKeepsItsFormat(t *testing.T) {
	m, err := prepare(t, descriptorRequest(fedoraRoot, "x86_64", "q35"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(fedoraRoot, "/usr/share/edk2/ovmf/OVMF_CODE_4M.qcow2"); m.code != want {
		t.Fatalf("code %v, want %s", m.code, want)
	}
	if filepath.Base(m.vars.Filename) != "efivars.qcow2" || m.Code.Format != "qcow2" || m.Vars.Format != "qcow2" {
		t.Fatalf("vars %s, formats %v/%v", m.vars.Filename, m.Code.Format, m.Vars.Format)
	}

	m, err = prepare(t, descriptorRequest(fedoraRoot, "aarch64", "virt"), 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	code := filepath.Join(fedoraRoot, "/usr/share/edk2/aarch64/QEMU_EFI-silent-pflash.qcow2")
	if m.code != code {
		t.Fatalf("code %v, want the shared qcow2 file %s, unpadded", m.code, code)
	}
	if want := fileSize(filepath.Join(fedoraRoot, "/usr/share/edk2/aarch64/vars-template-pflash.qcow2")); fileSize(m.vars.Filename) != want {
		t.Fatalf("the qcow2 variables copy is %d bytes, want the template's %d (padding corrupts qcow2)", fileSize(m.vars.Filename), want)
	}
}

// writePair writes a code and a variables file and returns their paths.
func writePair(t *testing.T, code, vars string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	codePath, varsPath := filepath.Join(dir, "CODE.fd"), filepath.Join(dir, "VARS.fd")
	os.WriteFile(codePath, []byte(code), 0o644)
	os.WriteFile(varsPath, []byte(vars), 0o644)
	return codePath, varsPath
}

// Descriptors come first: the path lists are only for hosts without any.
func TestChoose_descriptorsWinOverThePathLists(t *testing.T) {
	code, vars := writePair(t, "c", "v")
	req := descriptorRequest(ubuntuRoot, "x86_64", "q35")
	req.Candidates = [][2]string{{code, vars}}
	fw, err := Choose(req)
	if err != nil || fw.Code.Filename == code {
		t.Fatalf("code %v (err %v), want the descriptor's", fw.Code.Filename, err)
	}

	// Without descriptor files, the list is searched.
	req = descriptorRequest(t.TempDir(), "x86_64", "q35")
	req.Candidates = [][2]string{{code, vars}}
	fw, err = Choose(req)
	if err != nil || fw.Code.Filename != code {
		t.Fatalf("code %v (err %v), want the list's %s", fw.Code.Filename, err, code)
	}
	if line := fw.Describe(false); strings.Contains(line, "QEMU firmware descriptor") {
		t.Fatalf("the UI line names a descriptor: %s", line)
	}
}

// An administrator who masks every descriptor does not get the path lists
// behind their back.
func TestChoose_maskedDescriptorsDoNotFallBack(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"etc/qemu/firmware/60-edk2-x86_64.json": ""})
	code, vars := writePair(t, "c", "v")
	req := descriptorRequest(root, "x86_64", "q35")
	req.Candidates = [][2]string{{code, vars}}
	if _, err := Choose(req); err == nil || !strings.Contains(err.Error(), "masked") {
		t.Fatalf("err %v", err)
	}
}

// efi_firmware_code and efi_firmware_vars win over the descriptors; one of
// them alone takes the other file from the descriptor, and a qcow2 file is
// recognised as qcow2.
func TestChoose_optionsWinOverDescriptors(t *testing.T) {
	dir := t.TempDir()
	code, vars := filepath.Join(dir, "MY_CODE.qcow2"), filepath.Join(dir, "MY_VARS.fd")
	os.WriteFile(code, []byte("QFI\xfb\x00\x00\x00\x03rest"), 0o644)
	os.WriteFile(vars, []byte("vars"), 0o644)
	req := descriptorRequest(ubuntuRoot, "x86_64", "q35")
	req.CodePath, req.VarsPath = code, vars
	m, err := prepare(t, req, 0)
	if err != nil || m.code != code || m.Code.Format != "qcow2" || m.Vars.Format != "raw" {
		t.Fatalf("code %v %v, vars format %v (err %v)", m.code, m.Code.Format, m.Vars.Format, err)
	}
	if line := m.Describe(false); strings.Contains(line, "QEMU firmware descriptor") {
		t.Fatalf("the UI line names a descriptor: %s", line)
	}

	req = descriptorRequest(ubuntuRoot, "x86_64", "q35")
	req.SecureBoot, req.CodePath = true, code
	m, err = prepare(t, req, 0)
	if err != nil || m.code != code {
		t.Fatalf("code %v (err %v)", m.code, err)
	}
	if data, _ := os.ReadFile(m.vars.Filename); !strings.Contains(string(data), "OVMF_VARS_4M.ms.fd") {
		t.Fatalf("the variables copy holds %q, want the descriptor's enrolled template", data)
	}
	if m.SMM {
		t.Fatal("SMM taken from a descriptor whose code is not used")
	}
}

func TestChoose_findsTheFirstCandidateAndCopiesItsVariables(t *testing.T) {
	code, vars := writePair(t, "code", "vars template")
	req := Request{Candidates: [][2]string{{"/nonexistent/CODE.fd", "/nonexistent/VARS.fd"}, {code, vars}}}
	m, err := prepare(t, req, 0)
	if err != nil || m.code != code {
		t.Fatalf("code %v (err %v)", m.code, err)
	}
	if m.vars.Filename == vars {
		t.Fatal("the build writes to the shared variables template")
	}
	if data, _ := os.ReadFile(m.vars.Filename); string(data) != "vars template" {
		t.Fatalf("variables copy holds %q", data)
	}
}

func TestChoose_withoutFirmwareGivesTheInstallHint(t *testing.T) {
	req := Request{Candidates: [][2]string{{"/nonexistent/CODE.fd", "/nonexistent/VARS.fd"}}, InstallHint: "install the ovmf package"}
	if _, err := Choose(req); err == nil || !strings.Contains(err.Error(), `firmware = "uefi" but UEFI firmware was not found: install the ovmf package, or set efi_firmware_code`) {
		t.Fatalf("err %v", err)
	}
	req.SecureBoot = true
	if _, err := Choose(req); err == nil || !strings.Contains(err.Error(), "OVMF_CODE_4M.secboot.fd") {
		t.Fatalf("Secure Boot err %v", err)
	}
}

func TestDetectFormat(t *testing.T) {
	dir := t.TempDir()
	qcow2, raw, short := filepath.Join(dir, "a.qcow2"), filepath.Join(dir, "b.fd"), filepath.Join(dir, "c.fd")
	os.WriteFile(qcow2, []byte("QFI\xfb\x00\x00\x00\x03"), 0o644)
	os.WriteFile(raw, make([]byte, 4096), 0o644)
	os.WriteFile(short, []byte("QF"), 0o644)
	for path, want := range map[string]string{qcow2: "qcow2", raw: "raw", short: "raw", filepath.Join(dir, "missing"): "raw", "": ""} {
		if got := DetectFormat(path); got != want {
			t.Errorf("DetectFormat(%q) = %q, want %q", path, got, want)
		}
	}
}
