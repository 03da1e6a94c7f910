package warmstart

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Evict removes the least recently used entries (and leftover temporary
// directories older than a day) until the entries plus incoming bytes fit
// under MaxBytes, and returns the directories it removed. The entry
// directory keep counts, but is never removed.
func (c Cache) Evict(incoming int64, keep string) ([]string, error) {
	dirs, err := os.ReadDir(c.Root)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	type entry struct {
		path string
		used time.Time
		size int64
	}
	var entries []entry
	var total int64
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		path := filepath.Join(c.Root, d.Name())
		if path == keep {
			total += dirSize(path)
			continue
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			if info, err := d.Info(); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
				os.RemoveAll(path)
			}
			continue
		}
		used := time.Time{}
		if info, err := os.Stat(filepath.Join(path, ManifestFile)); err == nil {
			used = info.ModTime()
		}
		size := dirSize(path)
		entries = append(entries, entry{path, used, size})
		total += size
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].used.Before(entries[j].used) })
	var removed []string
	for _, e := range entries {
		if total+incoming <= c.MaxBytes {
			break
		}
		if err := os.RemoveAll(e.path); err != nil {
			return removed, err
		}
		total -= e.size
		removed = append(removed, e.path)
	}
	return removed, nil
}

// dirSize is the total size of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
