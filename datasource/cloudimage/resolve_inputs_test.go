package cloudimage

import (
	"os"
	"path/filepath"
	"testing"
)

// Configure reads public_key_file for the verification without writing it
// over the template's public_key: validation leaves the config as given.
func TestConfigure_publicKeyFileLeavesTheConfigAsGiven(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key.asc")
	os.WriteFile(keyFile, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n"), 0o644)
	var d Datasource
	err := d.Configure(map[string]interface{}{
		"index_url": "https://example.org/SHA512SUMS", "name_glob": "*.qcow2", "public_key_file": keyFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.config.PublicKey != "" {
		t.Errorf("public_key was set to %q", d.config.PublicKey)
	}
	if d.publicKey != "-----BEGIN PGP PUBLIC KEY BLOCK-----\n" {
		t.Errorf("the key to verify with is %q, want the file's content", d.publicKey)
	}
}
