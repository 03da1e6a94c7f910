package firmware

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
)

// Features the selection reads (docs/interop/firmware.json, FirmwareFeature).
const (
	FeatureSecureBoot   = "secure-boot"
	FeatureEnrolledKeys = "enrolled-keys"
	FeatureRequiresSMM  = "requires-smm"
	// FeatureHostUEFIVars firmware keeps its variables in a host-side store
	// (QEMU's uefi-vars devices), which the builder does not provide.
	FeatureHostUEFIVars = "host-uefi-vars"
)

// Query is the VM the firmware is for.
type Query struct {
	// Arch is the QEMU target ("x86_64", "aarch64").
	Arch string
	// Machine is the -machine value; options after the first comma are
	// ignored. Aliases (q35, pc, virt) are matched as the newest versioned
	// type they stand for (see MachineMatches).
	Machine string
	// SecureBoot asks for Secure Boot enforced from the first boot:
	// "secure-boot" code with an "enrolled-keys" variables template, and on
	// x86 "requires-smm" (the builder turns SMM on and restricts the
	// variables flash to it). Without it, a build without Secure Boot is
	// preferred, then a Secure Boot capable one whose variables template
	// enrolls no keys (Secure Boot stays off); "enrolled-keys" firmware,
	// which would refuse unsigned boot loaders, is never chosen.
	SecureBoot bool
}

// String describes what is looked for, for messages.
func (q Query) String() string {
	machine := machineName(q.Machine)
	if prefix, ok := machineAliases[machine]; ok {
		machine = fmt.Sprintf("%s (%s*)", machine, prefix)
	}
	s := fmt.Sprintf("UEFI firmware for %s machine %s, flash-mapped (split code and variables, raw or qcow2)", q.Arch, machine)
	if q.SecureBoot {
		want := []string{FeatureSecureBoot, FeatureEnrolledKeys}
		if smmArch(q.Arch) {
			want = append(want, FeatureRequiresSMM)
		}
		return s + ", with features " + strings.Join(want, ", ")
	}
	return s + ", without " + FeatureEnrolledKeys
}

// Selection is the firmware chosen and how to run it.
type Selection struct {
	// Entry is the descriptor chosen.
	Entry Entry
	// Code and Vars are the executable and the variables template, their
	// file names under the catalog's root.
	Code, Vars FlashFile
	// RequiresSMM firmware needs `-machine smm=on`.
	RequiresSMM bool
	// SecureVars is set when the spec asks for the variables flash to be
	// writable from SMM only (firmware both "secure-boot" and
	// "requires-smm"): `-global driver=cfi.pflash01,property=secure,value=on`.
	SecureVars bool
}

// Rejection is a descriptor that did not match, and why.
type Rejection struct {
	Entry  Entry
	Reason string
}

// NoMatchError says what was looked for, where, and what each descriptor
// found lacked.
type NoMatchError struct {
	Query    Query
	Dirs     []string
	Rejected []Rejection
}

func (e *NoMatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no QEMU firmware descriptor in %s describes %s; found:", strings.Join(e.Dirs, ", "), e.Query)
	for _, r := range e.Rejected {
		fmt.Fprintf(&b, "\n  %s: %s", r.Entry.Path, r.Reason)
	}
	return b.String()
}

// Select picks the descriptor for the query: among the descriptors that
// match, the best preference tier (see Query.SecureBoot), and within it the
// first in file-name order, as the spec orders them. The firmware files
// must exist. It returns a *NoMatchError when none matches.
func (c *Catalog) Select(q Query) (*Selection, error) {
	var best *Selection
	bestTier := 0
	var rejected []Rejection
	for _, e := range c.Entries {
		sel, tier, reason := c.match(e, q)
		if reason != "" {
			rejected = append(rejected, Rejection{Entry: e, Reason: reason})
			continue
		}
		if best == nil || tier < bestTier {
			best, bestTier = sel, tier
		}
	}
	if best == nil {
		return nil, &NoMatchError{Query: q, Dirs: c.Dirs, Rejected: rejected}
	}
	return best, nil
}

// match checks one entry: its preference tier (lower is better) when it
// matches, or why not.
func (c *Catalog) match(e Entry, q Query) (*Selection, int, string) {
	switch {
	case e.Masked:
		return nil, 0, "masked (an empty file hides the same-named descriptors of less specific directories)"
	case e.Err != nil:
		return nil, 0, "unusable: " + e.Err.Error()
	}
	d := e.Descriptor
	if !d.HasInterface("uefi") {
		return nil, 0, fmt.Sprintf("interface-types %s: not UEFI", strings.Join(d.InterfaceTypes, ", "))
	}
	if reason := targetMismatch(d, q); reason != "" {
		return nil, 0, reason
	}
	m := d.Mapping
	if m.Device != "flash" {
		return nil, 0, fmt.Sprintf("mapping device %q: the builder maps firmware into flash only", m.Device)
	}
	if mode := m.FlashMode(); mode != ModeSplit {
		return nil, 0, fmt.Sprintf("flash mode %q: the builder needs split code and variables files", mode)
	}
	for _, f := range []*FlashFile{m.Executable, m.NVRAMTemplate} {
		if !supportedFormat(f.Format) {
			return nil, 0, fmt.Sprintf("%s is in format %q: the builder maps raw and qcow2 flash only", f.Filename, f.Format)
		}
	}
	if d.HasFeature(FeatureHostUEFIVars) {
		return nil, 0, "feature " + FeatureHostUEFIVars + ": needs a host-side UEFI variable store, which the builder does not provide"
	}
	tier, reason := featureTier(d, q)
	if reason != "" {
		return nil, 0, reason
	}
	sel := &Selection{
		Entry:       e,
		Code:        FlashFile{Filename: c.rooted(m.Executable.Filename), Format: m.Executable.Format},
		Vars:        FlashFile{Filename: c.rooted(m.NVRAMTemplate.Filename), Format: m.NVRAMTemplate.Format},
		RequiresSMM: d.HasFeature(FeatureRequiresSMM),
	}
	sel.SecureVars = sel.RequiresSMM && d.HasFeature(FeatureSecureBoot)
	for _, f := range []string{sel.Code.Filename, sel.Vars.Filename} {
		if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
			return nil, 0, fmt.Sprintf("%s is missing (reinstall the package that installed the descriptor)", f)
		}
	}
	return sel, tier, ""
}

// featureTier applies the Secure Boot policy of Query.SecureBoot.
func featureTier(d *Descriptor, q Query) (int, string) {
	sb, keys := d.HasFeature(FeatureSecureBoot), d.HasFeature(FeatureEnrolledKeys)
	if q.SecureBoot {
		switch {
		case !sb:
			return 0, "lacks feature " + FeatureSecureBoot
		case !keys:
			return 0, "lacks feature " + FeatureEnrolledKeys + " (its variables template has no Secure Boot keys)"
		case smmArch(q.Arch) && !d.HasFeature(FeatureRequiresSMM):
			return 0, "lacks feature " + FeatureRequiresSMM + " (Secure Boot without SMM does not protect the variables)"
		}
		return 0, ""
	}
	switch {
	case keys:
		return 0, "has feature " + FeatureEnrolledKeys + ": it enforces Secure Boot (set secure_boot = true for it)"
	case sb:
		return 1, ""
	}
	return 0, ""
}

// targetMismatch says why no target of the descriptor runs on the query's
// architecture and machine ("" when one does).
func targetMismatch(d *Descriptor, q Query) string {
	if len(d.Targets) == 0 {
		return "lists no targets"
	}
	var archs, machines []string
	archFound := false
	for _, t := range d.Targets {
		if t.Architecture != q.Arch {
			archs = append(archs, t.Architecture)
			continue
		}
		archFound = true
		for _, pattern := range t.Machines {
			if MachineMatches(pattern, q.Machine) {
				return ""
			}
		}
		machines = append(machines, t.Machines...)
	}
	if !archFound {
		return fmt.Sprintf("for %s, not %s", strings.Join(slices.Compact(archs), ", "), q.Arch)
	}
	return fmt.Sprintf("for %s machines %s, not %s", q.Arch, strings.Join(machines, ", "), machineName(q.Machine))
}

// machineAliases are the QEMU machine names that stand for the newest
// versioned machine of a family (`qemu-system-x86_64 -machine help` shows
// "q35 ... (alias of pc-q35-9.2)"), with the family's versioned prefix.
// The spec wants descriptors to list concrete types, so an alias cannot be
// matched as it is.
var machineAliases = map[string]string{
	"q35":  "pc-q35-",
	"pc":   "pc-i440fx-",
	"virt": "virt-",
}

// aliasStandIn is the version an alias is matched as: later than any QEMU
// release, so the patterns that cover every version of the family
// ("pc-q35-*", "virt-*") match it and patterns pinned to some versions
// ("pc-q35-2.*") do not, since the alias's real version is unknown here.
const aliasStandIn = "9999.0"

// MachineMatches reports whether a descriptor's machine pattern (a glob:
// `*`, `?` and `[...]`) matches the machine type, with its options dropped
// and an alias (q35, pc, virt) taken as its family's newest version.
func MachineMatches(pattern, machine string) bool {
	name := machineName(machine)
	if globMatch(pattern, name) {
		return true
	}
	if prefix, ok := machineAliases[name]; ok {
		return globMatch(pattern, prefix+aliasStandIn)
	}
	return false
}

func globMatch(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	if err != nil { // a malformed pattern matches only itself
		return pattern == name
	}
	return ok
}

func machineName(machine string) string {
	name, _, _ := strings.Cut(machine, ",")
	return name
}

// smmArch is whether the architecture has SMM (System Management Mode),
// which protects the Secure Boot variables of x86 firmware.
func smmArch(arch string) bool { return arch == "x86_64" || arch == "i386" }

func supportedFormat(format string) bool { return format == "raw" || format == "qcow2" }
