package sysprep

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed sysprep.sh
var library string

// operation is one generalization step; its shell function lives in
// sysprep.sh as op_<name with dashes as underscores>.
type operation struct {
	Name        string
	Description string
	// InDefaults marks the operations that are safe for any image.
	InDefaults bool
	// TakesUsers passes the users to act on as arguments.
	TakesUsers bool
}

// operations, in the order they run: scrub-free-space and trim come after
// everything that frees space, and user-account is last so the build's own
// session is untouched until then. The names follow virt-sysprep's, so its
// users find theirs; docs/provisioners/sysprep.mdx maps each of its
// default operations to these.
var operations = []operation{
	{"machine-id", "write \"uninitialized\" to /etc/machine-id so the next boot is a first boot with a new id; link /var/lib/dbus/machine-id to it", true, false},
	{"ssh-hostkeys", "remove the SSH host keys so each clone makes its own", true, false},
	{"ssh-userdir", "remove the .ssh directory of root and every user: authorized keys, private keys, known_hosts", true, false},
	{"cloud-init", "clean cloud-init's state, seed and logs so the next boot is a first boot", true, false},
	{"logfiles", "remove rotated logs and the journal, empty the other files under /var/log, remove installer logs and kickstarts", true, false},
	{"bash-history", "remove shell and tool histories of root and every user", true, false},
	{"passwd-backups", "remove /etc/shadow- and the other account file backups, and Debian's /var/backups/*.bak copies", true, false},
	{"backup-files", "remove *.bak and *~ files under /etc, /root, /home, /srv, /tmp and /var", true, false},
	{"package-manager-cache", "empty the apt, dnf, yum, zypper and apk caches", true, false},
	{"tmp-files", "empty /tmp and /var/tmp", true, false},
	{"cron-spool", "remove user crontabs and at jobs", true, false},
	{"mail-spool", "remove the mailboxes in /var/mail and /var/spool/mail", true, false},
	{"dhcp-client-state", "remove DHCP leases", true, false},
	{"dhcp-server-state", "empty the DHCP server's lease files", true, false},
	{"net-persistent", "remove udev persistent-net rules and MAC pins in interface files; cloud-init's network files when cloud-init will write them again", true, false},
	{"net-hostname", "remove HOSTNAME and DHCP_HOSTNAME from RHEL-family ifcfg files", true, false},
	{"net-nmconn", "remove NetworkManager connection profiles on RHEL-family systems", true, false},
	{"crash-data", "remove crash dumps and core files", true, false},
	{"abrt-data", "remove ABRT crash reports", true, false},
	{"random-seed", "remove the saved random seed so clones do not share it", true, false},
	{"utmp", "empty wtmp, btmp, lastlog and utmp", true, false},
	{"pacct-log", "empty the process accounting logs", true, false},
	{"blkid-tab", "remove the blkid cache", true, false},
	{"lvm-system-devices", "remove LVM's devices file, which names the build's disk IDs", true, false},
	{"rpm-db", "remove the RPM database's host-specific environment files", true, false},
	{"yum-uuid", "remove the yum and zypper installation UUIDs", true, false},
	{"smolt-uuid", "remove the Smolt hardware UUID", true, false},
	{"pam-data", "remove PAM console, faillock and sepermit records", true, false},
	{"kerberos-hostkeytab", "remove the Kerberos host keytab /etc/krb5.keytab", true, false},
	{"ipa-client", "remove the IPA client's enrolment files and CA", true, false},
	{"sssd-db-log", "remove SSSD's cache databases and logs", true, false},
	{"samba-db-log", "remove Samba's databases and logs", true, false},
	{"dovecot-data", "remove Dovecot's data files", true, false},
	{"puppet-data-log", "remove Puppet's data, certificates and logs", true, false},
	{"rh-subscription-manager", "remove subscription-manager's identity, entitlements and caches", true, false},
	{"rhn-systemid", "remove the RHN system ID", true, false},
	{"scrub-free-space", "overwrite free space with zeros so deleted files are gone from the image", true, false},
	{"trim", "discard unused blocks (fstrim), or zero free space, so the snapshot is small", true, false},
	{"user-account", "remove the build user (or remove_users), its home and sudo rules; opt-in", false, true},
}

func operationNames() []string {
	var names []string
	for _, op := range operations {
		names = append(names, op.Name)
	}
	sort.Strings(names)
	return names
}

// resolveOperations turns names, "defaults" and "-name" into the set to
// run, in running order.
func resolveOperations(spec []string) ([]operation, error) {
	chosen := map[string]bool{}
	var unknown []string
	for _, item := range spec {
		name, remove := strings.CutPrefix(strings.TrimSpace(item), "-")
		switch {
		case name == "defaults":
			for _, op := range operations {
				if op.InDefaults {
					chosen[op.Name] = !remove
				}
			}
		case known(name):
			chosen[name] = !remove
		default:
			unknown = append(unknown, fmt.Sprintf("%q", item))
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("operations: unknown operation %s; valid operations are defaults, %s (prefix a name with - to leave it out)",
			strings.Join(unknown, ", "), strings.Join(operationNames(), ", "))
	}
	var ops []operation
	for _, op := range operations {
		if chosen[op.Name] {
			ops = append(ops, op)
		}
	}
	return ops, nil
}

func known(name string) bool {
	for _, op := range operations {
		if op.Name == name {
			return true
		}
	}
	return false
}

// script is the guest-side program: the library, then one call per
// operation.
func script(ops []operation, users []string, dryRun bool) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Generated by the kvm-sysprep provisioner.\n")
	// The shell has the script open; removing it now leaves nothing behind.
	b.WriteString("rm -f \"$0\"\n")
	if dryRun {
		b.WriteString("DRY_RUN=1\n")
	}
	b.WriteString(library)
	b.WriteString("\n# Operations\n")
	quoted := make([]string, len(users))
	for i, u := range users {
		quoted[i] = shellQuote(u)
	}
	for _, op := range ops {
		call := "op_" + strings.ReplaceAll(op.Name, "-", "_")
		if op.TakesUsers {
			call += " " + strings.Join(quoted, " ")
		}
		b.WriteString(call + "\n")
	}
	return b.String()
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
