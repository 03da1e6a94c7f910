// Package guestaccess writes the shell scripts that give a build its
// access to the guest and take it away again.
//
// The builder's cloud-config gives the build user passwordless sudo and,
// with ssh_password, a password (sent as a SHA-512 crypt hash) and SSH
// password authentication. Its bootcmd (Bootcmd), which cloud-init runs
// before it sets the hostname and creates users, records in /run (tmpfs:
// never in the image) what the revoke script (Revocation) restores, and
// makes the build hostname resolve (images whose cloud-init does not
// manage ${R:-}/etc/hosts would otherwise print "unable to resolve host"
// at every sudo). ${R:-} prefixes every guest path: empty in the guest, a
// directory tree in tests.
package guestaccess

import (
	"fmt"
	"strings"

	"github.com/GehirnInc/crypt"
	_ "github.com/GehirnInc/crypt/sha512_crypt" // registers crypt.SHA512
)

// buildStateDir holds the records; it lives in the guest's /run only.
const buildStateDir = "${R:-}/run/packer-kvm-build"

// Markers of the lines the build adds to ${R:-}/etc/hosts and sshd_config.
const (
	hostsMarker = "# packer-kvm build"
	sshdMarker  = "# packer-kvm build access: removed before shutdown"
)

// cloudInitSudoers is where cloud-init writes its users' sudo rules.
const cloudInitSudoers = "${R:-}/etc/sudoers.d/90-cloud-init-users"

// HashPassword returns the SHA-512 crypt(3) hash of password with a random
// salt, the form /etc/shadow and cloud-init's hashed_passwd take.
func HashPassword(password string) (string, error) {
	return crypt.SHA512.New().Generate([]byte(password), nil)
}

// sudoRule is the rule the builder's cloud-config (internal/cidata) grants.
func sudoRule(user string) string { return user + " ALL=(ALL) NOPASSWD:ALL" }

// Bootcmd is the shell command of the builder's bootcmd: it records what
// the revoke script restores, makes hostname resolve and, with password,
// enables SSH password authentication. It is idempotent (bootcmd runs at
// every boot).
func Bootcmd(user, hostname string, password bool) string {
	u, h, d := ShellQuote(user), ShellQuote(hostname), buildStateDir
	script := []string{
		"if [ ! -e " + d + " ]; then mkdir -m 0700 " + d,
		"  if [ -f ${R:-}/etc/hostname ]; then cp ${R:-}/etc/hostname " + d + "/hostname; fi",
		"  if grep -q \"^\"" + u + "\":\" ${R:-}/etc/shadow; then awk -F: -v u=" + u + " '$1 == u { print $2 }' ${R:-}/etc/shadow > " + d + "/password-field; fi",
		"  if grep -qsxF " + ShellQuote(sudoRule(user)) + " " + cloudInitSudoers + "; then : > " + d + "/sudo-rule-existed; fi",
		"fi",
		"grep -qsF " + ShellQuote(hostsMarker) + " ${R:-}/etc/hosts || printf '127.0.1.1\\t%s %s\\n' " + h + " " + ShellQuote(hostsMarker) + " >> ${R:-}/etc/hosts",
	}
	if password {
		script = append(script,
			"if ! grep -qsxF "+ShellQuote(sshdMarker)+" ${R:-}/etc/ssh/sshd_config; then",
			"  { printf '%s\\nPasswordAuthentication yes\\n' "+ShellQuote(sshdMarker)+"; cat ${R:-}/etc/ssh/sshd_config; } > "+d+"/sshd_config && cat "+d+"/sshd_config > ${R:-}/etc/ssh/sshd_config",
			"fi")
	}
	return strings.Join(script, "\n")
}

// Revocation is what a build takes back from the guest before shutdown.
type Revocation struct {
	// User is the build user; Hostname the build hostname; InstanceID the
	// cloud-init instance whose cached user-data is removed.
	User, Hostname, InstanceID string
	// KeyComment marks the temporary SSH key ("" keeps the key).
	KeyComment string
	// Password: the build had a password and SSH password authentication.
	Password bool
	// Keep keeps everything but the key.
	Keep bool
}

// Script takes back, as root, what the build was given. Files another
// step already removed (kvm-sysprep) are skipped without a word.
func (r Revocation) Script() string {
	u, h, d := ShellQuote(r.User), ShellQuote(r.Hostname), buildStateDir
	var b strings.Builder
	line := func(format string, args ...interface{}) { fmt.Fprintf(&b, format+"\n", args...) }
	line("set -u")
	line("mkdir -p -m 0700 %s", d)
	if r.KeyComment != "" {
		k := ShellQuote(" " + r.KeyComment)
		line(`home=$(awk -F: -v u=%s '$1 == u { print $6 }' ${R:-}/etc/passwd)`, u)
		line(`for f in "${R:-}${home:-/nonexistent}/.ssh/authorized_keys" ${R:-}/root/.ssh/authorized_keys; do`)
		line(`  if [ -f "$f" ] && grep -qF %s "$f"; then grep -vF %s "$f" > %s/keys; cat %s/keys > "$f"; echo "Removed the temporary SSH key from ${f#${R:-}}"; fi`, k, k, d, d)
		line("done")
	}
	if r.Keep {
		return b.String()
	}
	// ${R:-}/etc/hosts: the bootcmd's line, and the build hostname wherever
	// cloud-init's template put it.
	line(`if grep -qsF %s ${R:-}/etc/hosts; then`, h)
	line(`  awk -v h=%s -v m=%s '
    index($0, m) { next }
    /^[[:space:]]*#/ { print; next }
    { hit = 0; for (i = 2; i <= NF; i++) if ($i == h || index($i, h ".") == 1) hit = 1
      if (!hit) { print; next }
      out = $1; names = 0
      for (i = 2; i <= NF; i++) { if ($i ~ /^#/) break; if ($i == h || index($i, h ".") == 1) continue; out = out " " $i; names++ }
      if (names) print out }' ${R:-}/etc/hosts > %s/hosts && cat %s/hosts > ${R:-}/etc/hosts && echo "Removed the build hostname from ${R:-}/etc/hosts"`, h, ShellQuote(hostsMarker), d, d)
	line("fi")
	line(`if [ -f ${R:-}/etc/hostname ] && [ "$(cat ${R:-}/etc/hostname)" = %s ]; then`, h)
	line(`  orig=$(cat %s/hostname 2>/dev/null); if [ -z "$orig" ] || [ "$orig" = %s ]; then orig=localhost; fi`, d, h)
	line(`  echo "$orig" > ${R:-}/etc/hostname; echo "Restored ${R:-}/etc/hostname ($orig)"`)
	line("fi")
	line("rm -f ${R:-}/var/lib/cloud/data/previous-hostname ${R:-}/var/lib/cloud/data/set-hostname")
	// cloud-init's copies of the build's user-data (the hash, the key, the
	// hostname): the cache of an instance no clone will be.
	line(`for f in user-data.txt user-data.txt.i cloud-config.txt obj.pkl; do`)
	line(`  f=${R:-}/var/lib/cloud/instances/%s/$f; [ -f "$f" ] || continue`, ShellQuote(r.InstanceID))
	line(`  shred -z -n 0 -u "$f" 2>/dev/null || rm -f "$f"`)
	line("done")
	line(`if [ ! -e %s/sudo-rule-existed ] && grep -qsxF %s %s; then`, d, ShellQuote(sudoRule(r.User)), cloudInitSudoers)
	line(`  awk -v u=%s '$0 == "# User rules for " u || $0 == u " ALL=(ALL) NOPASSWD:ALL" { next } { print }' %s > %s/sudoers && cat %s/sudoers > %s`, u, cloudInitSudoers, d, d, cloudInitSudoers)
	line(`  grep -qv '^[[:space:]]*\(#.*\)\{0,1\}$' %s || rm -f %s`, cloudInitSudoers, cloudInitSudoers)
	line(`  echo "Removed the build's passwordless sudo rule for %s"`, strings.ReplaceAll(r.User, `"`, ""))
	line("fi")
	if r.Password {
		line(`if grep -qsxF %s ${R:-}/etc/ssh/sshd_config; then`, ShellQuote(sshdMarker))
		line(`  awk -v m=%s 'skip { skip = 0; next } $0 == m { skip = 1; next } { print }' ${R:-}/etc/ssh/sshd_config > %s/sshd_config && cat %s/sshd_config > ${R:-}/etc/ssh/sshd_config`, ShellQuote(sshdMarker), d, d)
		line(`  echo "Removed the build's SSH password authentication"`)
		line("fi")
		line(`if [ -f %s/password-field ]; then field=$(cat %s/password-field); else field='!'; fi`, d, d)
		// shadow- is the shadow tools' backup: it holds the hash too.
		line(`for f in ${R:-}/etc/shadow ${R:-}/etc/shadow-; do`)
		line(`  [ -f "$f" ] || continue`)
		line(`  awk -F: -v OFS=: -v u=%s -v p="$field" '$1 == u { $2 = p } { print }' "$f" > %s/shadow && cat %s/shadow > "$f" || exit 1`, u, d, d)
		line("done")
		line(`rm -f %s/shadow`, d)
		line(`echo "Removed the build password of %s"`, strings.ReplaceAll(r.User, `"`, ""))
	}
	return b.String()
}

// ShellQuote quotes s as one word for a POSIX shell.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
