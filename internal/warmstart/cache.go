// Package warmstart is the warm-start cache: booted VMs saved once (QEMU's
// migration stream plus the disk as a layer over the source image) and
// resumed by later builds with the same inputs. It computes the cache key
// (KeyInputs), opens, saves and evicts entries (Cache, Entry), and
// prepares and completes a resume. It knows nothing of Packer's steps:
// the builder hands it plain values, a qemu.Driver and a qemu.VM.
package warmstart

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// A warm-start cache entry is a directory named by its key under the cache
// root (Packer's cache directory, kvm-warm/). It holds:
//
//	state        QEMU's migration stream: memory and device state
//	disk.qcow2   the disk as it was at that instant, a qcow2 layer over the source
//	efivars.fd   the UEFI variables (UEFI builds only; in the firmware's
//	             format, raw or qcow2, whatever the name)
//	ssh_key      the private key the guest authorized at first boot
//	manifest.json the key's inputs, each file's SHA-256 and the saved boot time
//
// Every file is 0600 and every directory 0700: the state holds the
// guest's memory, the disk layer what cloud-init wrote (user_data
// included), so a copied cache exposes nothing to other users. The key
// inputs name the template's secrets (ssh_password) and long texts
// (user_data, network_config) by an HMAC-SHA-256 under the cache's own
// random key (SecretFile, 0600, in the cache root): a manifest read
// elsewhere does not let anyone test guesses of the password offline.
//
// An entry is written in a temporary directory beside it and renamed into
// place, so a reader sees a whole entry or none; builds only ever copy from
// an entry, never write to it.
const (
	// StateFile is the entry's migration stream.
	StateFile = "state"
	// DiskFile is the entry's disk layer.
	DiskFile = "disk.qcow2"
	// VarsFile is the entry's UEFI variables.
	VarsFile = "efivars.fd"
	// KeyFile is the private key the entry's guest authorized.
	KeyFile = "ssh_key"
	// ManifestFile describes the entry (Manifest).
	ManifestFile = "manifest.json"
	// SecretFile is the cache's HMAC key, in the cache root.
	SecretFile = ".hmac-key"
	// DefaultMaxBytes caps the cache's total size: saving an entry first
	// evicts the least recently used ones until the new entry fits.
	DefaultMaxBytes int64 = 8 << 30
	// ManifestVersion 2: template texts keyed by the cache's HMAC key
	// (version 1 held plain SHA-256 digests), and every file 0600.
	ManifestVersion = 2
)

// Cache is the warm-start cache: a directory of entries, one per key.
type Cache struct {
	// Root is the cache's directory.
	Root string
	// MaxBytes caps the entries' total size (Evict). CacheIn sets
	// DefaultMaxBytes.
	MaxBytes int64
}

// CacheIn is the cache kvm-warm/ under Packer's cache directory
// (PACKER_CACHE_DIR, or packer_cache by default).
func CacheIn(packerCacheDir string) Cache {
	return Cache{Root: filepath.Join(packerCacheDir, "kvm-warm"), MaxBytes: DefaultMaxBytes}
}

// Manifest describes an entry.
type Manifest struct {
	Version     int               `json:"version"`
	Created     time.Time         `json:"created"`
	Inputs      KeyInputs         `json:"inputs"`
	Files       map[string]string `json:"files"` // name -> sha256
	InstanceID  string            `json:"instance_id"`
	KeyComment  string            `json:"key_comment"`
	BootSeconds float64           `json:"boot_seconds"`
}

// Entry is a verified cache entry.
type Entry struct {
	Dir      string
	Manifest Manifest
}

// File is the path of the entry's file name (StateFile, DiskFile, ...).
func (e *Entry) File(name string) string { return filepath.Join(e.Dir, name) }

// Name is how messages name the entry: its key's first 12 digits.
func (e *Entry) Name() string { return ShortKey(filepath.Base(e.Dir)) }

// Touch marks the entry as used now, for the LRU eviction.
func (e *Entry) Touch() {
	now := time.Now()
	_ = os.Chtimes(e.File(ManifestFile), now, now)
}

// Remove deletes the entry, so the next build with its key boots cold.
func (e *Entry) Remove() error { return os.RemoveAll(e.Dir) }

// ErrMiss means no entry exists for the key.
var ErrMiss = errors.New("no warm-start entry")

// Has says whether a whole entry (one with a manifest) exists for key.
func (c Cache) Has(key string) bool {
	_, err := os.Stat(filepath.Join(c.Root, key, ManifestFile))
	return err == nil
}

// Remove deletes the entry for key, whole or damaged.
func (c Cache) Remove(key string) error {
	return os.RemoveAll(filepath.Join(c.Root, key))
}

// Open finds the entry for the inputs' key and checks it whole: a
// manifest of this version for these inputs, and every file matching its
// checksum. It returns ErrMiss when there is none; an entry that fails a
// check is damaged, and the caller discards it (Remove).
func (c Cache) Open(inputs KeyInputs) (*Entry, error) {
	key := inputs.Key()
	dir := filepath.Join(c.Root, key)
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if os.IsNotExist(err) {
		if _, statErr := os.Stat(dir); os.IsNotExist(statErr) {
			return nil, ErrMiss
		}
		return nil, fmt.Errorf("it has no manifest")
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("its manifest is unreadable: %w", err)
	}
	if err := checkManifest(m, key); err != nil {
		return nil, err
	}
	if err := checkFiles(dir, m.Files); err != nil {
		return nil, err
	}
	return &Entry{Dir: dir, Manifest: m}, nil
}

// checkManifest refuses a manifest of another version, for other inputs,
// or lacking a file every entry has.
func checkManifest(m Manifest, key string) error {
	if m.Version != ManifestVersion {
		return fmt.Errorf("its manifest has version %d, want %d", m.Version, ManifestVersion)
	}
	if m.Inputs.Key() != key {
		return fmt.Errorf("its manifest was written for other inputs")
	}
	for _, name := range []string{StateFile, DiskFile, KeyFile} {
		if _, ok := m.Files[name]; !ok {
			return fmt.Errorf("its manifest lists no %s", name)
		}
	}
	return nil
}

// checkFiles makes every file the manifest lists private and checks its
// SHA-256.
func checkFiles(dir string, files map[string]string) error {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name != filepath.Base(name) || strings.HasPrefix(name, ".") {
			return fmt.Errorf("its manifest names a file outside the entry: %q", name)
		}
		privateFile(filepath.Join(dir, name))
		sum, _, err := fileutil.SHA256(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		if sum != files[name] {
			return fmt.Errorf("%s does not match its checksum (a damaged or partial entry)", name)
		}
	}
	return nil
}

// privateFile takes group and other access away from a cache file (an
// entry saved by a version that wrote 0644 files).
func privateFile(path string) {
	if st, err := os.Lstat(path); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o077 != 0 {
		_ = os.Chmod(path, st.Mode().Perm()&0o700)
	}
}

// newEntryDir makes the temporary directory an entry is written in.
func (c Cache) newEntryDir() (string, error) {
	if err := os.MkdirAll(c.Root, 0o700); err != nil {
		return "", err
	}
	return os.MkdirTemp(c.Root, ".tmp-")
}

// commit writes the manifest, checksumming the files it lists, and
// renames the temporary directory to the key. When another build saved the
// same key first, its entry is kept and this one is dropped.
func (c Cache) commit(tmp, key string, m Manifest) (string, error) {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", err
	}
	if err := fileutil.WriteAtomicPerm(filepath.Join(tmp, ManifestFile), data, 0o600); err != nil {
		return "", err
	}
	final := filepath.Join(c.Root, key)
	if err := os.Rename(tmp, final); err != nil {
		if _, statErr := os.Stat(filepath.Join(final, ManifestFile)); statErr == nil {
			os.RemoveAll(tmp)
			return final, nil
		}
		return "", err
	}
	syncDir(c.Root)
	return final, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
