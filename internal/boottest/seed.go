package boottest

import (
	"fmt"

	"github.com/kvmforge/packer-plugin-kvm/internal/cidata"
)

// userData is the test's cloud-config: once cloud-init's final stage runs
// (cloud-final.service, ordered after network-online.target), it waits a
// little for a default route, prints the marker and the nonce on the serial
// console, and powers off. The marker is split in the script so that the
// proving line appears on the console only when the script runs, never
// when cloud-init echoes its user-data.
func userData(nonce, console string) string {
	script := fmt.Sprintf(`n=%s; tty=/dev/%s
for i in $(seq 60); do ip route show default | grep -q . && break; sleep 1; done
if ip route show default | grep -q .; then echo "BOOT-TEST-""OK $n" >$tty
else echo "BOOT-TEST-""NO-NETWORK $n $(ip -o addr 2>&1 | awk '{print $2, $4}' | tr '\n' ' ')" >$tty; fi
systemctl --no-block poweroff`, nonce, console)
	return "#cloud-config\nruncmd:\n  - - sh\n    - -c\n    - |\n" + indent(script, "      ") + "\n"
}

func indent(s, prefix string) string {
	out := prefix
	for _, r := range s {
		out += string(r)
		if r == '\n' {
			out += prefix
		}
	}
	return out
}

// writeSeed writes the test's NoCloud seed: a fresh instance-id makes
// cloud-init run again on an image that has seen one (a build's own boot),
// as on its first boot on the platform.
func writeSeed(path, nonce, console string) error {
	return cidata.Seed{
		InstanceID: "boot-test-" + nonce,
		Hostname:   "boot-test",
		UserData:   userData(nonce, console),
	}.Write(path)
}
