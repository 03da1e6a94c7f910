package kvm

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// stepWarmSave saves the booted VM into the warm-start cache once the guest
// is ready for provisioning, on a cold warm-start build whose entry does
// not exist yet. The guest is paused while its disk and memory are taken
// at one instant: the running overlay is frozen as a layer (QMP
// blockdev-snapshot-sync puts a new overlay above it, which the VM then
// writes to), and QEMU migrates memory and device state into the entry.
// The VM then continues; the frozen layer, UEFI variables and SSH key are
// copied into the entry, which is renamed into place. A failed save only
// costs the cache entry: the build goes on.
//
// It reads ui, driver, vm, overlay_path, efi_vars, instance_id and the warm
// start's Root, Key, Inputs, Entry and Started (warmState, state.go), and
// writes overlay_path (the new top overlay).
type stepWarmSave struct {
	// KeyComment is the comment of the key the guest authorized.
	KeyComment string
	// Comm holds the build's private key.
	Comm *communicator.Config
	// PollInterval is how often the migration's progress is read.
	PollInterval time.Duration

	tmp string
}

func (s *stepWarmSave) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	warm := warmOf(state)
	key := warm.Key
	if key == "" || warm.Entry != nil {
		return multistep.ActionContinue
	}
	ui := keyUI.Get(state)
	root := warm.Root
	if _, err := os.Stat(filepath.Join(root, key, warmManifestFile)); err == nil {
		ui.Say("warm start: another build saved this VM meanwhile; not saving it again")
		return multistep.ActionContinue
	}
	start := time.Now()
	boot := start.Sub(warm.Started)
	ui.Say("warm start: saving the booted VM...")
	dir, err := s.save(ctx, state, warm, boot)
	if err != nil {
		if _, stopped := err.(*warmResumeError); stopped {
			return halt(state, err)
		}
		ui.Error(fmt.Sprintf("warm start: the VM was not saved (the build goes on): %s", err))
		return multistep.ActionContinue
	}
	ui.Say(fmt.Sprintf("warm start: saved entry %s (%s) in %s", shortKey(key), fileutil.HumanBytes(dirSize(dir)), time.Since(start).Round(100*time.Millisecond)))
	if removed, err := evictWarmEntries(root, 0, warmCacheMaxBytes, dir); err != nil {
		ui.Error(fmt.Sprintf("warm start: evicting old entries: %s", err))
	} else if len(removed) > 0 {
		ui.Say(fmt.Sprintf("warm start: evicted %d least recently used entries to stay under %s", len(removed), fileutil.HumanBytes(warmCacheMaxBytes)))
	}
	return multistep.ActionContinue
}

// warmResumeError is a VM that could not be made to run again after the
// save: the build cannot go on.
type warmResumeError struct{ err error }

func (e *warmResumeError) Error() string {
	return fmt.Sprintf("warm start: the VM did not continue after saving it: %s", e.err)
}

func (s *stepWarmSave) save(ctx context.Context, state multistep.StateBag, warm *warmState, boot time.Duration) (string, error) {
	vm := keyVM.Get(state)
	tmp, err := newWarmEntryDir(warm.Root)
	if err != nil {
		return "", err
	}
	s.tmp = tmp
	frozen := keyOverlayPath.Get(state)
	files := map[string]string{}
	if err := s.freeze(ctx, state, vm, tmp, files); err != nil {
		if _, contErr := vm.Command(ctx, "cont", nil); contErr != nil {
			return "", &warmResumeError{fmt.Errorf("%v (after: %v)", contErr, err)}
		}
		return "", err
	}
	if _, err := vm.Command(ctx, "cont", nil); err != nil {
		return "", &warmResumeError{err}
	}
	// The frozen layer is now a read-only backing file of the running VM,
	// so it is copied while the guest runs.
	var sum string
	if files[warmDiskFile], err = fileutil.CopyAndSHA256(frozen, filepath.Join(tmp, warmDiskFile), 0o600); err != nil {
		return "", fmt.Errorf("copying the disk layer: %w", err)
	}
	if sum, _, err = fileutil.SHA256(filepath.Join(tmp, warmStateFile)); err != nil {
		return "", err
	}
	files[warmStateFile] = sum
	if err := os.WriteFile(filepath.Join(tmp, warmKeyFile), s.Comm.SSHPrivateKey, 0o600); err != nil {
		return "", err
	}
	if files[warmKeyFile], _, err = fileutil.SHA256(filepath.Join(tmp, warmKeyFile)); err != nil {
		return "", err
	}
	instanceID := keyInstanceID.Get(state)
	dir, err := commitWarmEntry(warm.Root, tmp, warm.Key, warmManifest{
		Version: warmManifestVer, Created: time.Now().UTC(), Inputs: warm.Inputs,
		Files: files, InstanceID: instanceID, KeyComment: s.KeyComment, BootSeconds: boot.Seconds(),
	})
	if err != nil {
		return "", err
	}
	s.tmp = ""
	return dir, nil
}

// freeze pauses the guest, moves its writes to a new overlay above the
// current one, writes memory and device state to the entry, and copies the
// UEFI variables, all while the guest is paused.
func (s *stepWarmSave) freeze(ctx context.Context, state multistep.StateBag, vm qemu.VM, tmp string, files map[string]string) error {
	if _, err := vm.Command(ctx, "stop", nil); err != nil {
		return err
	}
	// The new overlay is made here, with the frozen layer's absolute path
	// as its backing file: QEMU would record the path the drive was
	// opened with, relative to the build's directory rather than the
	// overlay's, and the final conversion could not find it.
	frozen, err := filepath.Abs(keyOverlayPath.Get(state))
	if err != nil {
		return err
	}
	top := filepath.Join(filepath.Dir(frozen), "disk-run.qcow2")
	if err := keyDriver.Get(state).CreateOverlay(ctx, frozen, "qcow2", top, 0); err != nil {
		return fmt.Errorf("creating the overlay the VM continues on: %w", err)
	}
	if _, err := vm.Command(ctx, "blockdev-snapshot-sync", map[string]interface{}{
		"device": "disk0", "snapshot-file": top, "format": "qcow2", "mode": "existing",
	}); err != nil {
		return fmt.Errorf("freezing the disk: %w", err)
	}
	keyOverlayPath.Put(state, top)
	// QEMU's default migration bandwidth (32 MiB/s) is meant for live
	// migration over a network; a local file takes all it can.
	if _, err := vm.Command(ctx, "migrate-set-parameters", map[string]interface{}{"max-bandwidth": int64(1) << 40}); err != nil {
		return err
	}
	// The state file is created 0600 before cat writes it: the shell's
	// redirection keeps the mode of a file that exists, whatever QEMU's
	// umask.
	stateFile := filepath.Join(tmp, warmStateFile)
	f, err := os.OpenFile(stateFile, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	uri := "exec:cat > " + shellQuote(stateFile)
	if _, err := vm.Command(ctx, "migrate", map[string]interface{}{"uri": uri}); err != nil {
		return fmt.Errorf("saving the VM state: %w", err)
	}
	if err := s.waitMigration(ctx, vm); err != nil {
		return fmt.Errorf("saving the VM state: %w", err)
	}
	if vars := keyEFIVars.Get(state); vars != "" {
		sum, err := fileutil.CopyAndSHA256(vars, filepath.Join(tmp, warmVarsFile), 0o600)
		if err != nil {
			return fmt.Errorf("copying the UEFI variables: %w", err)
		}
		files[warmVarsFile] = sum
	}
	return nil
}

// waitMigration polls query-migrate until the migration ends.
func (s *stepWarmSave) waitMigration(ctx context.Context, vm qemu.VM) error {
	interval := s.PollInterval
	if interval == 0 {
		interval = 100 * time.Millisecond
	}
	for {
		info, err := queryMigrate(ctx, vm)
		if err != nil {
			return err
		}
		switch info.Status {
		case "completed":
			return nil
		case "failed", "cancelled":
			return fmt.Errorf("migration %s: %s", info.Status, info.ErrorDesc)
		}
		select {
		case <-ctx.Done():
			_, _ = vm.Command(context.Background(), "migrate_cancel", nil)
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// migrationInfo is the part of QMP query-migrate's answer warm start reads.
type migrationInfo struct {
	Status    string `json:"status"`
	ErrorDesc string `json:"error-desc"`
}

// queryMigrate asks QEMU how the current (outgoing or incoming) migration
// stands.
func queryMigrate(ctx context.Context, vm qemu.VM) (migrationInfo, error) {
	var info migrationInfo
	raw, err := vm.Command(ctx, "query-migrate", nil)
	if err == nil {
		err = json.Unmarshal(raw, &info)
	}
	return info, err
}

// Cleanup removes a partly written entry.
func (s *stepWarmSave) Cleanup(multistep.StateBag) {
	if s.tmp != "" {
		os.RemoveAll(s.tmp)
		s.tmp = ""
	}
}
