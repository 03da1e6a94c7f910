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

	"github.com/kvmforge/packer-plugin-kvm/internal/warmstart"
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

// Issue 20 item 5: the manifest names ssh_password (and user_data,
// network_config) by an HMAC under the cache's own random key, never by a
// plain digest that a copied manifest lets anyone test guesses against.
func TestStepWarmRestore_keysThePasswordWithTheCachesSecret(t *testing.T) {
	const password = "hunter2"
	plain := sha256.Sum256([]byte(password))
	run := func(step *stepWarmRestore, state multistep.StateBag) warmstart.KeyInputs {
		t.Helper()
		step.Texts = warmstart.Texts{Password: password, UserData: "#cloud-config\n"}
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
	key, err := os.Lstat(filepath.Join(root, warmstart.SecretFile))
	if err != nil || key.Size() != 32 || key.Mode().Perm() != 0o600 {
		t.Fatalf("cache key %v %v, want 32 bytes, mode 0600", key, err)
	}
	if st, _ := os.Stat(root); st.Mode().Perm() != 0o700 {
		t.Errorf("cache root mode %v, want 0700", st.Mode().Perm())
	}
	// The same cache gives the same key inputs (entries are found again);
	// another cache, with its own secret, others.
	step.Texts = warmstart.Texts{}
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
