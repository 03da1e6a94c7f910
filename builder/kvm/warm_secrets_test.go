package kvm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// Issue 20 item 5: every file of a saved entry, the memory and device
// state included, is 0600, and its directory 0700.
func TestStepWarmSave_everyFileOfTheEntryIsPrivate(t *testing.T) {
	state, _, root := saveState(t)
	step := &stepWarmSave{KeyComment: "packer_1", Comm: &communicator.Config{SSH: communicator.SSH{SSHPrivateKey: []byte("PRIVATE")}}}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	entry := filepath.Join(root, warmOf(state).Key)
	var files int
	filepath.WalkDir(entry, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		st, _ := d.Info()
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", d.Name(), st.Mode().Perm(), want)
		}
		return nil
	})
	if files != 5 {
		t.Errorf("%d files in the entry, want state, disk, UEFI variables, key and manifest", files)
	}
}

// An entry written by an older version with 0644 files is made private
// when it is next opened.
func TestOpenWarmEntry_makesAnOldEntrysFilesPrivate(t *testing.T) {
	root := t.TempDir()
	in := testInputs()
	dir := writeTestEntry(t, root, in, map[string]string{warmStateFile: "state", warmDiskFile: "layer", warmKeyFile: "KEY"})
	for _, name := range []string{warmStateFile, warmDiskFile} {
		os.Chmod(filepath.Join(dir, name), 0o644)
	}
	if _, err := openWarmEntry(root, in.Key(), in); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{warmStateFile, warmDiskFile, warmKeyFile} {
		if st, _ := os.Stat(filepath.Join(dir, name)); st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, st.Mode().Perm())
		}
	}
}

// Issue 20 item 5: the manifest names ssh_password (and user_data,
// network_config) by an HMAC under the cache's own random key, never by a
// plain digest that a copied manifest lets anyone test guesses against.
func TestStepWarmRestore_keysThePasswordWithTheCachesSecret(t *testing.T) {
	const password = "hunter2"
	plain := sha256.Sum256([]byte(password))
	run := func(step *stepWarmRestore, state multistep.StateBag) warmKeyInputs {
		t.Helper()
		step.Texts = warmTexts{Password: password, UserData: "#cloud-config\n"}
		if step.Run(context.Background(), state) != multistep.ActionContinue {
			t.Fatal(stateErr(state))
		}
		return warmOf(state).Inputs
	}
	step, state, _, root := restoreFixture(t)
	first := run(step, state)
	if first.SeedPassword == "" || first.SeedPassword == hex.EncodeToString(plain[:]) || strings.Contains(first.SeedPassword, password) {
		t.Fatalf("the password is named %q: want an HMAC, not its plain SHA-256", first.SeedPassword)
	}
	if first.UserData == "" || first.UserData == fmt.Sprintf("%x", sha256.Sum256([]byte("#cloud-config\n"))) {
		t.Errorf("user_data is named %q: want an HMAC", first.UserData)
	}
	key, err := os.Lstat(filepath.Join(root, warmSecretFile))
	if err != nil || key.Size() != 32 || key.Mode().Perm() != 0o600 {
		t.Fatalf("cache key %v %v, want 32 bytes, mode 0600", key, err)
	}
	if st, _ := os.Stat(root); st.Mode().Perm() != 0o700 {
		t.Errorf("cache root mode %v, want 0700", st.Mode().Perm())
	}
	// The same cache gives the same key inputs (entries are found again);
	// another cache, with its own secret, others.
	step.Texts = warmTexts{}
	again, _, _, _ := restoreFixture(t)
	again.CacheDir = step.CacheDir
	state2, _ := testState(t)
	for _, k := range []stateKey[string]{keySourceImagePath, keySourceImageFormat, keyAccelerator, keyOverlayPath} {
		k.Put(state2, k.Get(state))
	}
	if second := run(again, state2); second.Key() != first.Key() {
		t.Error("the same cache keys the same password differently")
	}
	other, state3, _, _ := restoreFixture(t)
	for _, k := range []stateKey[string]{keySourceImagePath, keySourceImageFormat, keyAccelerator, keyOverlayPath} {
		k.Put(state3, k.Get(state))
	}
	if third := run(other, state3); third.SeedPassword == first.SeedPassword {
		t.Error("two caches key the password alike: the secret is not the cache's own")
	}
}

func TestWarmCacheSecret_refusesAKeyOthersCanReadOrALink(t *testing.T) {
	root := filepath.Join(t.TempDir(), "kvm-warm")
	secret, err := warmCacheSecret(root)
	if err != nil || len(secret) != 32 {
		t.Fatalf("secret %x %v", secret, err)
	}
	if again, err := warmCacheSecret(root); err != nil || string(again) != string(secret) {
		t.Fatalf("the key changed between uses: %v", err)
	}
	path := filepath.Join(root, warmSecretFile)
	os.Chmod(path, 0o644)
	if _, err := warmCacheSecret(root); err == nil || !strings.Contains(err.Error(), "only its owner reads") {
		t.Errorf("a readable key: %v", err)
	}
	os.Remove(path)
	target := filepath.Join(t.TempDir(), "elsewhere")
	os.WriteFile(target, make([]byte, 32), 0o600)
	os.Symlink(target, path)
	if _, err := warmCacheSecret(root); err == nil {
		t.Error("a key that is a symbolic link was used")
	}
}
