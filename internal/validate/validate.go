// Package validate holds the checks every component's configuration
// shares: the placeholder of a value `packer validate` cannot know yet, and
// the "use one of" check of an enumerated option.
package validate

import (
	"fmt"
	"slices"
	"strings"
)

// Unknown is what `packer validate` hands a plugin for a string it cannot
// know yet, such as a data source's output: Packer writes it in place of
// every unknown string (hcl2shim.WriteUnknownPlaceholderValues; numbers
// become 0, booleans false) before calling Prepare or Configure. Such a
// value is checked by the Prepare of `packer build`, when it is known.
const Unknown = "<unknown>"

// IsUnknown tells whether value is the placeholder of a value not known
// yet (packer validate).
func IsUnknown(value string) bool { return value == Unknown }

// OneOf checks that the option field holds one of allowed, and otherwise
// names the field, its value and the allowed values in the order given. A
// value not known yet passes: it is checked once known.
func OneOf(field, value string, allowed []string) error {
	if IsUnknown(value) || slices.Contains(allowed, value) {
		return nil
	}
	return fmt.Errorf("%s %q is not valid: use one of %s", field, value, strings.Join(allowed, ", "))
}

// PrefixErrors names the option group name in each of errs that does not
// name it already: the SDK's own Prepare messages do not always name the
// field.
func PrefixErrors(name string, errs []error) []error {
	out := make([]error, 0, len(errs))
	for _, err := range errs {
		if strings.Contains(err.Error(), name) {
			out = append(out, err)
			continue
		}
		out = append(out, fmt.Errorf("%s: %w", name, err))
	}
	return out
}
