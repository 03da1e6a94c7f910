package warmstart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecret_refusesAKeyOthersCanReadOrALink(t *testing.T) {
	cache := CacheIn(t.TempDir())
	secret, err := cache.Secret()
	if err != nil || len(secret) != 32 {
		t.Fatalf("secret %x %v", secret, err)
	}
	if again, err := cache.Secret(); err != nil || string(again) != string(secret) {
		t.Fatalf("the key changed between uses: %v", err)
	}
	path := filepath.Join(cache.Root, SecretFile)
	os.Chmod(path, 0o644)
	if _, err := cache.Secret(); err == nil || !strings.Contains(err.Error(), "only its owner reads") {
		t.Errorf("a readable key: %v", err)
	}
	os.Remove(path)
	target := filepath.Join(t.TempDir(), "elsewhere")
	os.WriteFile(target, make([]byte, 32), 0o600)
	os.Symlink(target, path)
	if _, err := cache.Secret(); err == nil {
		t.Error("a key that is a symbolic link was used")
	}
}
