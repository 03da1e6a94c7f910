package firmware

import (
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// System descriptor directories, as docs/interop/firmware.json names them.
const (
	// DistroDir is populated by the distribution's firmware packages.
	DistroDir = "/usr/share/qemu/firmware"
	// SysconfDir is the administrator's: additions, replacements and masks.
	SysconfDir = "/etc/qemu/firmware"
)

// DefaultDirs are the descriptor directories, most specific first: the
// user's ($XDG_CONFIG_HOME/qemu/firmware, XDG_CONFIG_HOME defaulting to
// ~/.config; a relative XDG_CONFIG_HOME is ignored, as the XDG base
// directory spec says), the administrator's and the distribution's.
func DefaultDirs() []string {
	var dirs []string
	if user := userConfigDir(); user != "" {
		dirs = append(dirs, filepath.Join(user, "qemu", "firmware"))
	}
	return append(dirs, SysconfDir, DistroDir)
}

func userConfigDir() string {
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return x
	}
	if home := os.Getenv("HOME"); home != "" {
		return filepath.Join(home, ".config")
	}
	return ""
}

// Entry is one descriptor name of the merged set: the file that takes
// effect for that name and what came of reading it.
type Entry struct {
	// Name is the file name, which orders the set.
	Name string
	// Path is the file that takes effect (with the root prefix, if any).
	Path string
	// Masked is set when that file is empty: it hides the same-named
	// files of the less specific directories and describes nothing.
	Masked bool
	// Descriptor is the parsed file (nil when masked or invalid).
	Descriptor *Descriptor
	// Err says why the file could not be read or parsed.
	Err error
}

// Catalog is the merged descriptor set of a list of directories.
type Catalog struct {
	// Root prefixes the directories and the firmware file names the
	// descriptors give ("" for the real file system; tests use a fixture
	// tree).
	Root string
	// Dirs are the directories searched, most specific first, without Root.
	Dirs []string
	// Entries are in file-name order.
	Entries []Entry
}

// Load merges the descriptor directories (most specific first) as the spec
// says: every *.json file of every directory, a file in a more specific
// directory taking the place of a same-named one in a less specific one,
// an empty file masking it, the set sorted by file name. Directories that
// do not exist or cannot be read are skipped, and so are files that cannot
// be read or parsed (they are kept as entries with Err, for messages).
func Load(root string, dirs []string) *Catalog {
	c := &Catalog{Root: root, Dirs: dirs}
	seen := map[string]bool{}
	for _, dir := range dirs {
		full := c.rooted(dir)
		items, err := os.ReadDir(full)
		if err != nil {
			continue
		}
		for _, item := range items {
			name := item.Name()
			if !strings.HasSuffix(name, ".json") || seen[name] {
				continue
			}
			path := filepath.Join(full, name)
			st, err := os.Stat(path) // follows symlinks
			if err != nil || st.IsDir() {
				continue
			}
			seen[name] = true
			c.Entries = append(c.Entries, readEntry(name, path, st.Size()))
		}
	}
	sort.Slice(c.Entries, func(i, j int) bool { return c.Entries[i].Name < c.Entries[j].Name })
	return c
}

func readEntry(name, path string, size int64) Entry {
	e := Entry{Name: name, Path: path}
	if size == 0 {
		e.Masked = true
		return e
	}
	f, err := os.Open(path)
	if err != nil {
		e.Err = err
		return e
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDescriptorSize+1))
	if err != nil {
		e.Err = err
		return e
	}
	e.Descriptor, e.Err = ParseDescriptor(data)
	return e
}

// rooted puts a descriptor directory or a firmware file under Root.
func (c *Catalog) rooted(path string) string {
	if c.Root == "" {
		return path
	}
	return filepath.Join(c.Root, path)
}

// Empty reports whether no directory held a descriptor file, masks
// included: the host has no descriptors (macOS, Windows, the BSDs, a Linux
// without firmware packages) and the caller falls back on other means.
func (c *Catalog) Empty() bool { return len(c.Entries) == 0 }
