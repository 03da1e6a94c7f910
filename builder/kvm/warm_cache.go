package kvm

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
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
// random key (warmSecretFile, 0600, in the cache root): a manifest read
// elsewhere does not let anyone test guesses of the password offline.
//
// An entry is written in a temporary directory beside it and renamed into
// place, so a reader sees a whole entry or none; builds only ever copy from
// an entry, never write to it.
const (
	warmStateFile    = "state"
	warmDiskFile     = "disk.qcow2"
	warmVarsFile     = "efivars.fd"
	warmKeyFile      = "ssh_key"
	warmManifestFile = "manifest.json"
	// warmSecretFile is the cache's HMAC key, in the cache root.
	warmSecretFile = ".hmac-key"
	// warmCacheMaxBytes caps the cache's total size: saving an entry first
	// evicts the least recently used ones until the new entry fits.
	warmCacheMaxBytes int64 = 8 << 30
	// Version 2: template texts keyed by the cache's HMAC key (version 1
	// held plain SHA-256 digests), and every file 0600.
	warmManifestVer = 2
)

// warmKeyInputs is everything that makes one booted guest differ from
// another. Two builds resume from the same entry only when all are equal.
type warmKeyInputs struct {
	Source        string        `json:"source"`
	SeedHostname  string        `json:"seed_hostname"`
	SeedUser      string        `json:"seed_user"`
	SeedFastBoot  bool          `json:"seed_fast_boot"`
	SeedPassword  string        `json:"seed_password_hmac,omitempty"`
	UserData      string        `json:"user_data_hmac"`
	NetworkConfig string        `json:"network_config_hmac"`
	Accelerator   string        `json:"accelerator"`
	Machine       string        `json:"machine"`
	CPU           string        `json:"cpu"`
	CPUs          int           `json:"cpus"`
	MemoryMiB     int           `json:"memory_mib"`
	Firmware      string        `json:"firmware"`
	EFICode       string        `json:"efi_code_sha256,omitempty"`
	EFIVars       string        `json:"efi_vars_sha256,omitempty"`
	DiskSize      int64         `json:"disk_size"`
	Hardware      qemu.Hardware `json:"hardware"`
	Arch          string        `json:"arch"`
	VNC           bool          `json:"vnc"`
	QemuArgs      []string      `json:"qemu_args,omitempty"`
	QemuVersion   string        `json:"qemu_version"`
	PluginVersion string        `json:"plugin_version"`
}

// Key is the SHA-256 of the inputs' canonical JSON.
func (in warmKeyInputs) Key() string {
	data, _ := json.Marshal(in)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// keyedDigest names a secret or a long text in the key inputs: its
// HMAC-SHA-256 under the cache's key ("" for an empty text).
func keyedDigest(secret []byte, s string) string {
	if s == "" {
		return ""
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(s))
	return hex.EncodeToString(mac.Sum(nil))
}

// warmCacheSecret returns the cache's HMAC key, creating the cache root
// (0700) and the key (32 random bytes, 0600) on first use. A key that is
// not a regular file of 32 bytes that only its owner reads is refused.
func warmCacheSecret(root string) ([]byte, error) {
	if err := fileutil.PrivateDir(root); err != nil {
		return nil, err
	}
	path := filepath.Join(root, warmSecretFile)
	if _, err := os.Lstat(path); os.IsNotExist(err) {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		tmp, err := os.CreateTemp(root, ".hmac-key-*.tmp")
		if err != nil {
			return nil, err
		}
		defer os.Remove(tmp.Name())
		_, err = tmp.Write(secret)
		if closeErr := tmp.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			return nil, err
		}
		// A link, unlike a rename, fails when another build created the
		// key meanwhile: both then use the one that is there.
		if err := os.Link(tmp.Name(), path); err != nil && !os.IsExist(err) {
			return nil, err
		}
	}
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() != 32 || runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("the warm-start cache key %s is not a 32-byte file only its owner reads (mode %v, %d bytes): remove it, or the whole cache %s", path, st.Mode(), st.Size(), root)
	}
	return os.ReadFile(path)
}

// warmManifest describes an entry.
type warmManifest struct {
	Version     int               `json:"version"`
	Created     time.Time         `json:"created"`
	Inputs      warmKeyInputs     `json:"inputs"`
	Files       map[string]string `json:"files"` // name -> sha256
	InstanceID  string            `json:"instance_id"`
	KeyComment  string            `json:"key_comment"`
	BootSeconds float64           `json:"boot_seconds"`
}

// warmEntry is a verified cache entry.
type warmEntry struct {
	Dir      string
	Manifest warmManifest
}

func (e *warmEntry) path(name string) string { return filepath.Join(e.Dir, name) }

// Name is how messages name the entry: its key's first 12 digits.
func (e *warmEntry) Name() string { return shortKey(filepath.Base(e.Dir)) }

func shortKey(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}

// warmCacheRoot is kvm-warm/ under Packer's cache directory
// (PACKER_CACHE_DIR, or packer_cache by default).
func warmCacheRoot(cacheDir string) string { return filepath.Join(cacheDir, "kvm-warm") }

// errWarmMiss means no entry exists for the key.
var errWarmMiss = errors.New("no warm-start entry")

// openWarmEntry finds the entry for key and checks it whole: a manifest of
// this version for these inputs, and every file matching its checksum. An
// entry that fails a check is damaged; the caller discards it.
func openWarmEntry(root, key string, inputs warmKeyInputs) (*warmEntry, error) {
	dir := filepath.Join(root, key)
	data, err := os.ReadFile(filepath.Join(dir, warmManifestFile))
	if os.IsNotExist(err) {
		if _, statErr := os.Stat(dir); os.IsNotExist(statErr) {
			return nil, errWarmMiss
		}
		return nil, fmt.Errorf("it has no manifest")
	}
	if err != nil {
		return nil, err
	}
	var m warmManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("its manifest is unreadable: %w", err)
	}
	if m.Version != warmManifestVer {
		return nil, fmt.Errorf("its manifest has version %d, want %d", m.Version, warmManifestVer)
	}
	if m.Inputs.Key() != key || m.Inputs.Key() != inputs.Key() {
		return nil, fmt.Errorf("its manifest was written for other inputs")
	}
	for _, name := range []string{warmStateFile, warmDiskFile, warmKeyFile} {
		if _, ok := m.Files[name]; !ok {
			return nil, fmt.Errorf("its manifest lists no %s", name)
		}
	}
	names := make([]string, 0, len(m.Files))
	for name := range m.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name != filepath.Base(name) || strings.HasPrefix(name, ".") {
			return nil, fmt.Errorf("its manifest names a file outside the entry: %q", name)
		}
		privateFile(filepath.Join(dir, name))
		sum, _, err := fileutil.SHA256(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		if sum != m.Files[name] {
			return nil, fmt.Errorf("%s does not match its checksum (a damaged or partial entry)", name)
		}
	}
	return &warmEntry{Dir: dir, Manifest: m}, nil
}

// privateFile takes group and other access away from a cache file (an
// entry saved by a version that wrote 0644 files).
func privateFile(path string) {
	if st, err := os.Lstat(path); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o077 != 0 {
		_ = os.Chmod(path, st.Mode().Perm()&0o700)
	}
}

// touch marks the entry as used now, for the LRU eviction.
func (e *warmEntry) touch() {
	now := time.Now()
	_ = os.Chtimes(e.path(warmManifestFile), now, now)
}

// newWarmEntryDir makes the temporary directory an entry is written in.
func newWarmEntryDir(root string) (string, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", err
	}
	return os.MkdirTemp(root, ".tmp-")
}

// commitWarmEntry writes the manifest, checksumming the files it lists, and
// renames the temporary directory to the key. When another build saved the
// same key first, its entry is kept and this one is dropped.
func commitWarmEntry(root, tmp, key string, m warmManifest) (string, error) {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", err
	}
	if err := fileutil.WriteAtomicPerm(filepath.Join(tmp, warmManifestFile), data, 0o600); err != nil {
		return "", err
	}
	final := filepath.Join(root, key)
	if err := os.Rename(tmp, final); err != nil {
		if _, statErr := os.Stat(filepath.Join(final, warmManifestFile)); statErr == nil {
			os.RemoveAll(tmp)
			return final, nil
		}
		return "", err
	}
	syncDir(root)
	return final, nil
}

// evictWarmEntries removes the least recently used entries (and leftover
// temporary directories older than a day) until the entries plus incoming
// bytes fit under max. keep counts, but is never removed.
func evictWarmEntries(root string, incoming, max int64, keep string) ([]string, error) {
	dirs, err := os.ReadDir(root)
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
		path := filepath.Join(root, d.Name())
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
		if info, err := os.Stat(filepath.Join(path, warmManifestFile)); err == nil {
			used = info.ModTime()
		}
		size := dirSize(path)
		entries = append(entries, entry{path, used, size})
		total += size
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].used.Before(entries[j].used) })
	var removed []string
	for _, e := range entries {
		if total+incoming <= max {
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
