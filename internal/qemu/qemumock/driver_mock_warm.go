package qemumock

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
)

// Rebase records the call; it fails when path does not exist.
func (d *DriverMock) Rebase(ctx context.Context, path, backing, format string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.RebaseCalls = append(d.RebaseCalls, []string{path, backing, format})
	_, err := os.Stat(path)
	return err
}

// QemuVersion is QemuVersionText, or QEMU 7.2.0's when empty.
func (d *DriverMock) QemuVersion(ctx context.Context) (string, error) {
	if d.QemuVersionText == "" {
		return "QEMU emulator version 7.2.0", nil
	}
	return d.QemuVersionText, nil
}

// Command records the call and answers it from CommandReplies and
// CommandErrs; a migrate or screendump writes its file, as QEMU would.
func (v *VMMock) Command(ctx context.Context, name string, args interface{}) (json.RawMessage, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.CommandCalls = append(v.CommandCalls, name)
	v.CommandArgs = append(v.CommandArgs, args)
	if err := v.CommandErrs[name]; err != nil {
		return nil, err
	}
	// Like QEMU, a migration to "exec:cat > 'file'" writes the file.
	argMap, _ := args.(map[string]interface{})
	if uri, ok := argMap["uri"].(string); ok && name == "migrate" {
		if path, found := strings.CutPrefix(uri, "exec:cat > '"); found {
			if err := os.WriteFile(strings.TrimSuffix(path, "'"), []byte("migration stream"), 0o644); err != nil {
				return nil, err
			}
		}
	}
	// Like QEMU, a screendump writes the display's picture to the file.
	if path, ok := argMap["filename"].(string); ok && name == "screendump" {
		if v.Screen == nil {
			return nil, errors.New("no surface")
		}
		if err := os.WriteFile(path, v.Screen, 0o644); err != nil {
			return nil, err
		}
	}
	if reply, ok := v.CommandReplies[name]; ok {
		return json.RawMessage(reply), nil
	}
	return json.RawMessage("{}"), nil
}
