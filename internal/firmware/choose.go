package firmware

import (
	"fmt"
	"os"
)

// OVMFSecureBootCandidates are OVMF's Secure Boot builds (SMM required)
// with a variables template that has Microsoft's and the distribution's
// keys enrolled: Debian/Ubuntu ship *.secboot.fd with *.ms.fd, Fedora/RHEL
// *.secboot.fd with *.secboot.fd vars. Like the host's candidates, they are
// searched only where QEMU's firmware descriptors are not installed.
var OVMFSecureBootCandidates = [][2]string{
	{"/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"},
	{"/usr/share/OVMF/OVMF_CODE.secboot.fd", "/usr/share/OVMF/OVMF_VARS.ms.fd"},
	{"/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd"},
}

// SecureBootInstallHint says where OVMF's Secure Boot build comes from.
const SecureBootInstallHint = "install the ovmf package (apt-get install ovmf: OVMF_CODE_4M.secboot.fd and OVMF_VARS_4M.ms.fd; dnf install edk2-ovmf)"

// Request is the UEFI firmware a build asks for.
//
// CodePath and VarsPath win. The rest comes from QEMU's firmware
// descriptors when the host has any in DescriptorDirs, matched against
// Arch, Machine and SecureBoot; only a host without descriptors (macOS,
// Windows, the BSDs, distributions that ship none) falls back on
// Candidates (SecureBootCandidates with SecureBoot).
type Request struct {
	// CodePath and VarsPath are the user's own files ("": not given).
	CodePath, VarsPath string
	// Arch and Machine are the VM's, which descriptors must target.
	Arch, Machine string
	// SecureBoot asks for Secure Boot enforced from the first boot (see
	// Query.SecureBoot).
	SecureBoot bool
	// DescriptorDirs are the firmware descriptor directories, most
	// specific first (DefaultDirs() in a build); without any, only the
	// candidates are searched.
	DescriptorDirs []string
	// DescriptorRoot prefixes the directories and the file names the
	// descriptors give (tests).
	DescriptorRoot string
	// Candidates and SecureBootCandidates are code and variables file
	// pairs, in search order, for a host without descriptors.
	Candidates, SecureBootCandidates [][2]string
	// InstallHint says what to install when no firmware is found
	// ("install the ovmf package ...").
	InstallHint string
}

// Choice is the firmware a build maps, and how.
type Choice struct {
	Code, Vars FlashFile
	// Descriptor is the descriptor file that chose it ("" without one).
	Descriptor string
	// SMM and SecureVars: the code requires SMM (-machine smm=on), and its
	// variables flash is to be writable from SMM only.
	SMM, SecureVars bool
}

// Choose finds the code and variables files: the request's own, then the
// descriptors', or the candidates' on a host without descriptors. Its
// errors say what to install or set.
func Choose(req Request) (Choice, error) {
	fw := Choice{
		Code: FlashFile{Filename: req.CodePath, Format: DetectFormat(req.CodePath)},
		Vars: FlashFile{Filename: req.VarsPath, Format: DetectFormat(req.VarsPath)},
	}
	if fw.Code.Filename != "" && fw.Vars.Filename != "" {
		return fw, nil
	}
	if len(req.DescriptorDirs) > 0 {
		if catalog := Load(req.DescriptorRoot, req.DescriptorDirs); !catalog.Empty() {
			return fromDescriptors(req, fw, catalog)
		}
	}
	return fromCandidates(req, fw)
}

// fromCandidates completes fw with the first candidate pair whose files
// both exist.
func fromCandidates(req Request, fw Choice) (Choice, error) {
	candidates := req.Candidates
	if req.SecureBoot {
		candidates = req.SecureBootCandidates
	}
	for _, c := range candidates {
		if regularFile(c[0]) && regularFile(c[1]) {
			if fw.Code.Filename == "" {
				fw.Code = FlashFile{Filename: c[0], Format: DetectFormat(c[0])}
			}
			if fw.Vars.Filename == "" {
				fw.Vars = FlashFile{Filename: c[1], Format: DetectFormat(c[1])}
			}
			return fw, nil
		}
	}
	if req.SecureBoot {
		return fw, fmt.Errorf("secure_boot = true but OVMF's Secure Boot build was not found: %s, or set efi_firmware_code and efi_firmware_vars", SecureBootInstallHint)
	}
	return fw, fmt.Errorf("firmware = \"uefi\" but UEFI firmware was not found: %s, or set efi_firmware_code and efi_firmware_vars", req.InstallHint)
}

// fromDescriptors completes fw with the descriptors' choice.
func fromDescriptors(req Request, fw Choice, catalog *Catalog) (Choice, error) {
	sel, err := catalog.Select(Query{Arch: req.Arch, Machine: req.Machine, SecureBoot: req.SecureBoot})
	if err != nil {
		what, fix := `firmware = "uefi"`, req.InstallHint
		if req.SecureBoot {
			what = "secure_boot = true"
			if req.Arch == "x86_64" {
				fix = SecureBootInstallHint
			}
		}
		return fw, fmt.Errorf("%s but no UEFI firmware fits this VM: %w\nFix: %s, or set efi_firmware_code and efi_firmware_vars", what, err, fix)
	}
	fw.Descriptor = sel.Entry.Path
	if fw.Code.Filename == "" {
		// SMM is the code's requirement: it goes with the descriptor's code.
		fw.Code, fw.SMM, fw.SecureVars = sel.Code, sel.RequiresSMM, sel.SecureVars
	}
	if fw.Vars.Filename == "" {
		fw.Vars = sel.Vars
	}
	return fw, nil
}

// Describe is the UI line that says which firmware the build boots.
func (fw Choice) Describe(secureBoot bool) string {
	var line string
	if secureBoot {
		line = fmt.Sprintf("UEFI firmware with Secure Boot: %s, keys from %s", fw.Code.Filename, fw.Vars.Filename)
	} else {
		line = fmt.Sprintf("UEFI firmware: %s, variables from %s", fw.Code.Filename, fw.Vars.Filename)
	}
	if fw.Descriptor != "" {
		line += " (QEMU firmware descriptor " + fw.Descriptor + ")"
	}
	if fw.SMM && !secureBoot {
		line += "; it requires SMM, which the VM gets"
	}
	return line
}

func regularFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
