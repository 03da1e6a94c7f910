package export

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"unicode"

	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
)

// validateOutputs checks at `packer validate` time what would otherwise
// fail only after the build: output names that are paths or bad templates,
// two targets writing one file, and an output_directory that cannot be one.
// During validate, data-source values arrive as an unknown placeholder, a
// plain name that passes every check here.
func (c *Config) validateOutputs() []error {
	var errs []error
	if err := c.checkNameTemplate("output_name", c.OutputName); err != nil {
		errs = append(errs, err)
	}
	for i, t := range c.Targets {
		if err := c.checkNameTemplate(fmt.Sprintf("target[%d].name", i), t.Name); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, c.duplicateOutputs()...)
	if err := checkOutputDirectory(c.OutputDirectory); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// templateAction matches one {{ ... }} action of a name template.
var templateAction = regexp.MustCompile(`{{.*?}}`)

// checkNameTemplate refuses a name that is not a valid template or whose
// literal text is a path: every output stays inside output_directory.
func (c *Config) checkNameTemplate(field, tmpl string) error {
	if tmpl == "" {
		return nil
	}
	if err := interpolate.Validate(tmpl, &c.ctx); err != nil {
		return fmt.Errorf("%s %q is not a valid template: %w", field, tmpl, err)
	}
	literal := templateAction.ReplaceAllString(tmpl, "")
	if strings.ContainsAny(literal, `/\`) || tmpl == "." || tmpl == ".." {
		return fmt.Errorf("%s %q must be a file name, not a path: put the directory in output_directory", field, tmpl)
	}
	return checkNameText(field, literal, tmpl)
}

// kvmWorkPrefix starts the names of the kvm builder's work files, which
// its next build in the directory deletes as a killed build's leftovers.
const kvmWorkPrefix = ".packer-kvm-"

// checkNameText refuses what no output name may hold: control characters
// (a newline breaks the checksum file, which sha256sum -c reads a name a
// line) and the kvm builder's work-file prefix. text is the name's literal
// text (a template's, without its actions), name what the template says.
func checkNameText(field, text, name string) error {
	if strings.IndexFunc(text, unicode.IsControl) >= 0 {
		return fmt.Errorf("%s %q holds a control character (such as a newline): the checksum file could not name the output; give a plain file name", field, name)
	}
	if strings.HasPrefix(name, kvmWorkPrefix) {
		return fmt.Errorf("%s %q starts with %q, the prefix of the kvm builder's work files: its next build in the directory would delete the output as a leftover; choose another name", field, name, kvmWorkPrefix)
	}
	return nil
}

// checkRenderedName is the write-time twin of checkNameTemplate: generated
// data can put a separator into a name the template check let through.
func checkRenderedName(field, name string) error {
	switch {
	case name == "" || strings.TrimSpace(name) == "":
		return fmt.Errorf("%s renders to an empty file name", field)
	case strings.Contains(name, "<no value>"):
		return fmt.Errorf("%s %q uses a value the input artifact does not have", field, name)
	case strings.ContainsAny(name, `/\`) || name == "." || name == "..":
		return fmt.Errorf("%s renders to %q, a path rather than a file name: outputs stay in output_directory", field, name)
	}
	return checkNameText(field, name, name)
}

// insideDir double-checks that path is a file directly within dir.
func insideDir(dir, path string) error {
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel != filepath.Base(path) || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("output %s is not inside the output directory %s", path, dir)
	}
	return nil
}

// duplicateOutputs finds targets that would write the same file: the same
// name template (or both the default) with the same extension renders to
// the same name whatever the generated data.
func (c *Config) duplicateOutputs() []error {
	var errs []error
	seen := map[string]int{}
	for i, t := range c.Targets {
		if !slices.Contains(validFormats, t.Format) {
			continue
		}
		name := cmp.Or(t.Name, c.OutputName, "<input image name>")
		key := name + extension(t)
		if j, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("target[%d] and target[%d] would both write %s: give one of them a name", j, i, key))
			continue
		}
		seen[key] = i
	}
	return errs
}

// checkOutputDirectory refuses an output_directory that is a file or lies
// under one, which MkdirAll would refuse only after the build.
func checkOutputDirectory(dir string) error {
	if dir == "" {
		return nil
	}
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		switch {
		case err == nil && !st.IsDir() && p == filepath.Clean(dir):
			return fmt.Errorf("output_directory %s is a file: name a directory (it is created if missing)", dir)
		case err == nil && !st.IsDir():
			return fmt.Errorf("output_directory %s cannot be created: %s is a file", dir, p)
		case err == nil:
			return nil
		case !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return fmt.Errorf("output_directory %s: %w", dir, err)
		}
		if parent := filepath.Dir(p); parent == p {
			return nil
		}
	}
}
