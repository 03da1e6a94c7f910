package warmstart

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// Secret returns the cache's HMAC key, creating the cache root (0700) and
// the key (32 random bytes, 0600) on first use. A key that is not a
// regular file of 32 bytes that only its owner reads is refused.
func (c Cache) Secret() ([]byte, error) {
	if err := fileutil.PrivateDir(c.Root); err != nil {
		return nil, err
	}
	path := filepath.Join(c.Root, SecretFile)
	if _, err := os.Lstat(path); os.IsNotExist(err) {
		if err := c.createSecret(path); err != nil {
			return nil, err
		}
	}
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() != 32 || runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("the warm-start cache key %s is not a 32-byte file only its owner reads (mode %v, %d bytes): remove it, or the whole cache %s", path, st.Mode(), st.Size(), c.Root)
	}
	return os.ReadFile(path)
}

// createSecret writes 32 random bytes to a temporary file and links it to
// path.
func (c Cache) createSecret(path string) error {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.Root, ".hmac-key-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(secret)
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return err
	}
	// A link, unlike a rename, fails when another build created the key
	// meanwhile: both then use the one that is there.
	if err := os.Link(tmp.Name(), path); err != nil && !os.IsExist(err) {
		return err
	}
	return nil
}
