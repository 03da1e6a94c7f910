package warmstart

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// SaveRequest is a running VM to save into the cache and what the entry's
// manifest records about it.
type SaveRequest struct {
	// Driver creates the overlay the VM continues on.
	Driver qemu.Driver
	// VM is the running guest, ready for provisioning.
	VM qemu.VM
	// Overlay is the disk the VM runs on: it is frozen as the entry's
	// disk layer.
	Overlay string
	// EFIVars is the build's UEFI variables file ("" for BIOS).
	EFIVars string
	// PrivateKey is the build's key, the one the guest authorized.
	PrivateKey []byte
	// Inputs are the key's inputs; the entry is saved under their Key.
	Inputs KeyInputs
	// InstanceID is the guest's cloud-init instance-id, KeyComment the
	// comment of its authorized key, Boot what booting it cost.
	InstanceID string
	KeyComment string
	Boot       time.Duration
	// PollInterval is how often the migration's progress is read (100ms
	// if 0).
	PollInterval time.Duration
}

// Saved is the outcome of Save.
type Saved struct {
	// Overlay is the disk the VM now runs on: the new overlay above the
	// frozen layer once the disk was frozen (even when the save failed
	// later), else SaveRequest.Overlay.
	Overlay string
	// Dir is the saved entry and Size its bytes ("" and 0 on failure).
	Dir  string
	Size int64
}

// ContinueError is a VM that could not be made to run again after the
// save: the build cannot go on. Any other error of Save only costs the
// cache entry.
type ContinueError struct{ Err error }

func (e *ContinueError) Error() string {
	return fmt.Sprintf("the VM did not continue after saving it: %s", e.Err)
}

func (e *ContinueError) Unwrap() error { return e.Err }

// Save saves the running VM as the entry for req.Inputs. The guest is
// paused while its disk and memory are taken at one instant: the running
// overlay is frozen as a layer (QMP blockdev-snapshot-sync puts a new
// overlay above it, which the VM then writes to), and QEMU migrates memory
// and device state into the entry. The VM then continues; the frozen
// layer, UEFI variables and SSH key are copied into the entry, which is
// renamed into place. A partly written entry is removed.
func (c Cache) Save(ctx context.Context, req SaveRequest) (Saved, error) {
	saved := Saved{Overlay: req.Overlay}
	tmp, err := c.newEntryDir()
	if err != nil {
		return saved, err
	}
	dir, err := c.save(ctx, req, tmp, &saved)
	if err != nil {
		os.RemoveAll(tmp)
		return saved, err
	}
	saved.Dir, saved.Size = dir, dirSize(dir)
	return saved, nil
}

func (c Cache) save(ctx context.Context, req SaveRequest, tmp string, saved *Saved) (string, error) {
	vm := req.VM
	files := map[string]string{}
	if err := freeze(ctx, req, tmp, files, saved); err != nil {
		if _, contErr := vm.Command(ctx, "cont", nil); contErr != nil {
			return "", &ContinueError{fmt.Errorf("%v (after: %v)", contErr, err)}
		}
		return "", err
	}
	if _, err := vm.Command(ctx, "cont", nil); err != nil {
		return "", &ContinueError{err}
	}
	// The frozen layer is now a read-only backing file of the running VM,
	// so it is copied while the guest runs.
	var err error
	if files[DiskFile], err = fileutil.CopyAndSHA256(req.Overlay, filepath.Join(tmp, DiskFile), 0o600); err != nil {
		return "", fmt.Errorf("copying the disk layer: %w", err)
	}
	if files[StateFile], _, err = fileutil.SHA256(filepath.Join(tmp, StateFile)); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, KeyFile), req.PrivateKey, 0o600); err != nil {
		return "", err
	}
	if files[KeyFile], _, err = fileutil.SHA256(filepath.Join(tmp, KeyFile)); err != nil {
		return "", err
	}
	return c.commit(tmp, req.Inputs.Key(), Manifest{
		Version: ManifestVersion, Created: time.Now().UTC(), Inputs: req.Inputs,
		Files: files, InstanceID: req.InstanceID, KeyComment: req.KeyComment, BootSeconds: req.Boot.Seconds(),
	})
}

// freeze pauses the guest, moves its writes to a new overlay above the
// current one (saved.Overlay), writes memory and device state to the
// entry, and copies the UEFI variables, all while the guest is paused.
func freeze(ctx context.Context, req SaveRequest, tmp string, files map[string]string, saved *Saved) error {
	vm := req.VM
	if _, err := vm.Command(ctx, "stop", nil); err != nil {
		return err
	}
	top, err := moveWrites(ctx, req)
	if err != nil {
		return err
	}
	saved.Overlay = top
	if err := migrateTo(ctx, vm, filepath.Join(tmp, StateFile), req.PollInterval); err != nil {
		return err
	}
	if req.EFIVars != "" {
		sum, err := fileutil.CopyAndSHA256(req.EFIVars, filepath.Join(tmp, VarsFile), 0o600)
		if err != nil {
			return fmt.Errorf("copying the UEFI variables: %w", err)
		}
		files[VarsFile] = sum
	}
	return nil
}

// moveWrites puts a new overlay above the paused VM's disk and returns
// it: the VM writes there from now on, and its old disk is frozen.
func moveWrites(ctx context.Context, req SaveRequest) (string, error) {
	// The new overlay is made here, with the frozen layer's absolute path
	// as its backing file: QEMU would record the path the drive was
	// opened with, relative to the build's directory rather than the
	// overlay's, and the final conversion could not find it.
	frozen, err := filepath.Abs(req.Overlay)
	if err != nil {
		return "", err
	}
	top := filepath.Join(filepath.Dir(frozen), "disk-run.qcow2")
	if err := req.Driver.CreateOverlay(ctx, frozen, "qcow2", top, 0); err != nil {
		return "", fmt.Errorf("creating the overlay the VM continues on: %w", err)
	}
	if _, err := req.VM.Command(ctx, "blockdev-snapshot-sync", map[string]interface{}{
		"device": "disk0", "snapshot-file": top, "format": "qcow2", "mode": "existing",
	}); err != nil {
		return "", fmt.Errorf("freezing the disk: %w", err)
	}
	return top, nil
}

// migrateTo writes the paused VM's memory and device state to stateFile.
func migrateTo(ctx context.Context, vm qemu.VM, stateFile string, poll time.Duration) error {
	// QEMU's default migration bandwidth (32 MiB/s) is meant for live
	// migration over a network; a local file takes all it can.
	if _, err := vm.Command(ctx, "migrate-set-parameters", map[string]interface{}{"max-bandwidth": int64(1) << 40}); err != nil {
		return err
	}
	// The state file is created 0600 before cat writes it: the shell's
	// redirection keeps the mode of a file that exists, whatever QEMU's
	// umask.
	f, err := os.OpenFile(stateFile, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	uri := "exec:cat > " + shellQuote(stateFile)
	if _, err := vm.Command(ctx, "migrate", map[string]interface{}{"uri": uri}); err != nil {
		return fmt.Errorf("saving the VM state: %w", err)
	}
	if err := waitMigration(ctx, vm, poll); err != nil {
		return fmt.Errorf("saving the VM state: %w", err)
	}
	return nil
}

// waitMigration polls query-migrate until the migration ends.
func waitMigration(ctx context.Context, vm qemu.VM, interval time.Duration) error {
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
