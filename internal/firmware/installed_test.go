package firmware

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// debianPackageInstalled reports whether dpkg has the package installed.
func debianPackageInstalled(name string) bool {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", name).Output()
	return err == nil && strings.TrimSpace(string(out)) == "install ok installed"
}

// TestSelectInstalledDebianPackages reads the descriptors Debian's ovmf and
// qemu-efi-aarch64 packages installed on this machine (apt-get install ovmf
// qemu-efi-aarch64) and checks that the selection gives the files the
// packages' README.Debian documents: OVMF_CODE_4M.fd for guests without
// Secure Boot, the Secure Boot build (OVMF_CODE_4M.ms.fd, a symlink to
// OVMF_CODE_4M.secboot.fd) with OVMF_VARS_4M.ms.fd's enrolled keys for
// Secure Boot, and AAVMF for aarch64. Only the distribution directory is
// read, so an administrator's or a user's descriptors do not change it.
func TestSelectInstalledDebianPackages(t *testing.T) {
	c := Load("", []string{DistroDir})
	for _, tc := range []struct {
		pkg        string
		query      Query
		descriptor string
		code, vars string
		// resolved is what the code file is a symlink to ("" when not one).
		resolved string
		smm      bool
	}{
		{"ovmf", Query{Arch: "x86_64", Machine: "q35"}, "60-edk2-x86_64.json",
			"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd", "", false},
		{"ovmf", Query{Arch: "x86_64", Machine: "pc"}, "60-edk2-x86_64.json",
			"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd", "", false},
		{"ovmf", Query{Arch: "x86_64", Machine: "q35", SecureBoot: true}, "40-edk2-x86_64-secure-enrolled.json",
			"/usr/share/OVMF/OVMF_CODE_4M.ms.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", true},
		{"qemu-efi-aarch64", Query{Arch: "aarch64", Machine: "virt,gic-version=max,highmem=on"}, "60-edk2-aarch64.json",
			"/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd", "", false},
	} {
		name := tc.pkg + " " + machineName(tc.query.Machine)
		if tc.query.SecureBoot {
			name += " secure boot"
		}
		t.Run(name, func(t *testing.T) {
			if !debianPackageInstalled(tc.pkg) {
				t.Skipf("Debian package %s is not installed (apt-get install %s)", tc.pkg, tc.pkg)
			}
			sel, err := c.Select(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			if sel.Entry.Name != tc.descriptor || sel.Code.Filename != tc.code || sel.Vars.Filename != tc.vars {
				t.Fatalf("selected %s: %s + %s, want %s: %s + %s", sel.Entry.Name, sel.Code.Filename, sel.Vars.Filename, tc.descriptor, tc.code, tc.vars)
			}
			if sel.Code.Format != "raw" || sel.Vars.Format != "raw" || sel.RequiresSMM != tc.smm {
				t.Fatalf("formats %s/%s, SMM %v", sel.Code.Format, sel.Vars.Format, sel.RequiresSMM)
			}
			if tc.resolved != "" {
				if got, err := filepath.EvalSymlinks(sel.Code.Filename); err != nil || got != tc.resolved {
					t.Fatalf("%s resolves to %s (%v), want %s", sel.Code.Filename, got, err, tc.resolved)
				}
			}
		})
	}
}
