package cidata

import (
	"strings"
	"testing"
)

// FuzzMergeUserData feeds user-data as a template author could write it:
// whatever it is, merging must not panic; what it accepts must be one
// user-data cloud-init reads that still lets the build user in; what it
// refuses must say why.
func FuzzMergeUserData(f *testing.F) {
	f.Add("#cloud-config\npackages: [nginx]\nusers:\n  - name: ops\n")
	f.Add("#cloud-config\nbootcmd: [echo hi]\nssh_genkeytypes: rsa\n")
	f.Add("Content-Type: multipart/mixed; boundary=\"b\"\nMIME-Version: 1.0\n\n--b\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho hi\n--b--\n")
	f.Add("#!/bin/sh\necho hi > /tmp/hi\n")
	f.Add("")
	f.Add("#cloud-config\n- a list, not a mapping\n")
	f.Add("#cloud-config\nkey: [unclosed\n")
	f.Add("plain text, no marker")
	f.Fuzz(func(t *testing.T, userData string) {
		u := User{Name: "packer", PublicKey: "ssh-ed25519 AAAA packer_key", PasswordHash: "$6$salt$hash", Bootcmd: "true", FastBoot: true}
		out, err := MergeUserData(userData, u)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if strings.HasPrefix(out, "#cloud-config\n") {
			if err := ValidateYAML(out); err != nil {
				t.Fatalf("the merged cloud-config is not YAML: %v\n%s", err, out)
			}
		} else if !strings.HasPrefix(out, "Content-Type: multipart/mixed; boundary=") {
			t.Fatalf("neither a cloud-config nor a multipart message:\n%s", out)
		}
		for _, want := range []string{"name: packer", "ssh-ed25519 AAAA packer_key", "NOPASSWD:ALL"} {
			if !strings.Contains(out, want) {
				t.Fatalf("the builder's user lost %q:\n%s", want, out)
			}
		}
	})
}
