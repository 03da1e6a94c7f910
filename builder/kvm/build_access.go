package kvm

import (
	"fmt"
	"strings"

	"github.com/GehirnInc/crypt"
	_ "github.com/GehirnInc/crypt/sha512_crypt" // registers crypt.SHA512
)

// The build's access to the guest, and how it is taken away again.
//
// The builder's cloud-config gives the build user passwordless sudo and,
// with ssh_password, a password (sent as a SHA-512 crypt hash) and SSH
// password authentication. Its bootcmd, which cloud-init runs before it
// sets the hostname and creates users, records in /run (tmpfs: never in
// the image) what stepRevokeBuildAccess restores, and makes the build
// hostname resolve (images whose cloud-init does not manage ${R:-}/etc/hosts
// would otherwise print "unable to resolve host" at every sudo).

// buildStateDir holds the records; it lives in the guest's /run only.
const buildStateDir = "${R:-}/run/packer-kvm-build"

// Markers of the lines the build adds to ${R:-}/etc/hosts and sshd_config.
const (
	hostsMarker = "# packer-kvm build"
	sshdMarker  = "# packer-kvm build access: removed before shutdown"
)

// cloudInitSudoers is where cloud-init writes its users' sudo rules.
const cloudInitSudoers = "${R:-}/etc/sudoers.d/90-cloud-init-users"

// hashPassword returns the SHA-512 crypt(3) hash of password with a random
// salt, the form ${R:-}/etc/shadow and cloud-init's hashed_passwd take.
func hashPassword(password string) (string, error) {
	return crypt.SHA512.New().Generate([]byte(password), nil)
}

// sudoRule is the rule the builder's cloud-config (internal/cidata) grants.
func sudoRule(user string) string { return user + " ALL=(ALL) NOPASSWD:ALL" }

// buildAccessBootcmd is the shell command of the builder's bootcmd.
func buildAccessBootcmd(user, hostname string, password bool) string {
	u, h, d := shellQuote(user), shellQuote(hostname), buildStateDir
	script := []string{
		"if [ ! -e " + d + " ]; then mkdir -m 0700 " + d,
		"  if [ -f ${R:-}/etc/hostname ]; then cp ${R:-}/etc/hostname " + d + "/hostname; fi",
		"  if grep -q \"^\"" + u + "\":\" ${R:-}/etc/shadow; then awk -F: -v u=" + u + " '$1 == u { print $2 }' ${R:-}/etc/shadow > " + d + "/password-field; fi",
		"  if grep -qsxF " + shellQuote(sudoRule(user)) + " " + cloudInitSudoers + "; then : > " + d + "/sudo-rule-existed; fi",
		"fi",
		"grep -qsF " + shellQuote(hostsMarker) + " ${R:-}/etc/hosts || printf '127.0.1.1\\t%s %s\\n' " + h + " " + shellQuote(hostsMarker) + " >> ${R:-}/etc/hosts",
	}
	if password {
		script = append(script,
			"if ! grep -qsxF "+shellQuote(sshdMarker)+" ${R:-}/etc/ssh/sshd_config; then",
			"  { printf '%s\\nPasswordAuthentication yes\\n' "+shellQuote(sshdMarker)+"; cat ${R:-}/etc/ssh/sshd_config; } > "+d+"/sshd_config && cat "+d+"/sshd_config > ${R:-}/etc/ssh/sshd_config",
			"fi")
	}
	return strings.Join(script, "\n")
}

// revokeScript takes back, as root, what the build was given; keyComment
// empty keeps the temporary key, keep keeps everything but the key. Files
// another step already removed (kvm-sysprep) are skipped without a word.
func revokeScript(user, keyComment, hostname, instanceID string, password, keep bool) string {
	u, h, d := shellQuote(user), shellQuote(hostname), buildStateDir
	var b strings.Builder
	line := func(format string, args ...interface{}) { fmt.Fprintf(&b, format+"\n", args...) }
	line("set -u")
	line("mkdir -p -m 0700 %s", d)
	if keyComment != "" {
		k := shellQuote(" " + keyComment)
		line(`home=$(awk -F: -v u=%s '$1 == u { print $6 }' ${R:-}/etc/passwd)`, u)
		line(`for f in "${R:-}${home:-/nonexistent}/.ssh/authorized_keys" ${R:-}/root/.ssh/authorized_keys; do`)
		line(`  if [ -f "$f" ] && grep -qF %s "$f"; then grep -vF %s "$f" > %s/keys; cat %s/keys > "$f"; echo "Removed the temporary SSH key from ${f#${R:-}}"; fi`, k, k, d, d)
		line("done")
	}
	if keep {
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
      if (names) print out }' ${R:-}/etc/hosts > %s/hosts && cat %s/hosts > ${R:-}/etc/hosts && echo "Removed the build hostname from ${R:-}/etc/hosts"`, h, shellQuote(hostsMarker), d, d)
	line("fi")
	line(`if [ -f ${R:-}/etc/hostname ] && [ "$(cat ${R:-}/etc/hostname)" = %s ]; then`, h)
	line(`  orig=$(cat %s/hostname 2>/dev/null); if [ -z "$orig" ] || [ "$orig" = %s ]; then orig=localhost; fi`, d, h)
	line(`  echo "$orig" > ${R:-}/etc/hostname; echo "Restored ${R:-}/etc/hostname ($orig)"`)
	line("fi")
	line("rm -f ${R:-}/var/lib/cloud/data/previous-hostname ${R:-}/var/lib/cloud/data/set-hostname")
	// cloud-init's copies of the build's user-data (the hash, the key, the
	// hostname): the cache of an instance no clone will be.
	line(`for f in user-data.txt user-data.txt.i cloud-config.txt obj.pkl; do`)
	line(`  f=${R:-}/var/lib/cloud/instances/%s/$f; [ -f "$f" ] || continue`, shellQuote(instanceID))
	line(`  shred -z -n 0 -u "$f" 2>/dev/null || rm -f "$f"`)
	line("done")
	line(`if [ ! -e %s/sudo-rule-existed ] && grep -qsxF %s %s; then`, d, shellQuote(sudoRule(user)), cloudInitSudoers)
	line(`  awk -v u=%s '$0 == "# User rules for " u || $0 == u " ALL=(ALL) NOPASSWD:ALL" { next } { print }' %s > %s/sudoers && cat %s/sudoers > %s`, u, cloudInitSudoers, d, d, cloudInitSudoers)
	line(`  grep -qv '^[[:space:]]*\(#.*\)\{0,1\}$' %s || rm -f %s`, cloudInitSudoers, cloudInitSudoers)
	line(`  echo "Removed the build's passwordless sudo rule for %s"`, strings.ReplaceAll(user, `"`, ""))
	line("fi")
	if password {
		line(`if grep -qsxF %s ${R:-}/etc/ssh/sshd_config; then`, shellQuote(sshdMarker))
		line(`  awk -v m=%s 'skip { skip = 0; next } $0 == m { skip = 1; next } { print }' ${R:-}/etc/ssh/sshd_config > %s/sshd_config && cat %s/sshd_config > ${R:-}/etc/ssh/sshd_config`, shellQuote(sshdMarker), d, d)
		line(`  echo "Removed the build's SSH password authentication"`)
		line("fi")
		line(`if [ -f %s/password-field ]; then field=$(cat %s/password-field); else field='!'; fi`, d, d)
		// shadow- is the shadow tools' backup: it holds the hash too.
		line(`for f in ${R:-}/etc/shadow ${R:-}/etc/shadow-; do`)
		line(`  [ -f "$f" ] || continue`)
		line(`  awk -F: -v OFS=: -v u=%s -v p="$field" '$1 == u { $2 = p } { print }' "$f" > %s/shadow && cat %s/shadow > "$f" || exit 1`, u, d, d)
		line("done")
		line(`rm -f %s/shadow`, d)
		line(`echo "Removed the build password of %s"`, strings.ReplaceAll(user, `"`, ""))
	}
	return b.String()
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
