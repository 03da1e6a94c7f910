package cloudimage

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

// matcher matches file names by an RE2 expression or a glob.
type matcher struct {
	re   *regexp.Regexp
	glob string
}

// match reports whether name matches, with its `version` group if any.
func (m matcher) match(name string) (bool, string) {
	if m.re == nil {
		ok, _ := path.Match(m.glob, name)
		return ok, ""
	}
	sub := m.re.FindStringSubmatch(name)
	if sub == nil {
		return false, ""
	}
	if i := m.re.SubexpIndex("version"); i > 0 {
		return true, sub[i]
	}
	return true, ""
}

func (m matcher) String() string {
	if m.re != nil {
		return "name_regex " + m.re.String()
	}
	return "name_glob " + m.glob
}

// selectImage picks the one matching entry, or the highest version among
// several with mostRecent.
func selectImage(entries []indexEntry, m matcher, mostRecent bool) (indexEntry, string, error) {
	type candidate struct {
		entry   indexEntry
		version string
	}
	var found []candidate
	seen := map[string]bool{}
	for _, e := range entries {
		if ok, version := m.match(e.Name); ok && !seen[e.Name] {
			seen[e.Name] = true
			found = append(found, candidate{e, version})
		}
	}
	switch {
	case len(found) == 0:
		return indexEntry{}, "", fmt.Errorf("no image matches %s; the index lists %s", m, sample(entries, 6))
	case len(found) > 1 && !mostRecent:
		var names []string
		for _, c := range found {
			names = append(names, c.entry.Name)
		}
		return indexEntry{}, "", fmt.Errorf("%d images match %s: %s. Narrow the pattern or set most_recent = true", len(found), m, strings.Join(names, ", "))
	}
	sort.SliceStable(found, func(i, j int) bool {
		a, b := found[i].version, found[j].version
		if a == "" && b == "" {
			a, b = found[i].entry.Name, found[j].entry.Name
		}
		return naturalLess(b, a) // highest first
	})
	return found[0].entry, found[0].version, nil
}

func sample(entries []indexEntry, n int) string {
	var names []string
	for i, e := range entries {
		if i == n {
			names = append(names, fmt.Sprintf("and %d more", len(entries)-n))
			break
		}
		names = append(names, e.Name)
	}
	return strings.Join(names, ", ")
}

// naturalLess orders strings with digit runs compared as numbers, so that
// "20240211-1614" > "20240115-1200" and "9.10" > "9.9".
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitRun(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
