package qemu

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// Rebase implements Driver.
func (d *QemuDriver) Rebase(ctx context.Context, path, backing, backingFormat string) error {
	return d.qemuImg().Rebase(ctx, path, backing, backingFormat)
}

// QemuVersion implements Driver.
func (d *QemuDriver) QemuVersion(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, d.QemuBinary, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", d.QemuBinary, err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return first, nil
}

// Command implements VM.
func (vm *qemuVM) Command(ctx context.Context, name string, args interface{}) (json.RawMessage, error) {
	req := map[string]interface{}{"execute": name}
	if args != nil {
		req["arguments"] = args
	}
	data, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	raw, err := vm.send(ctx, name, data)
	if err != nil {
		return nil, fmt.Errorf("QMP %s: %w", name, err)
	}
	var reply struct {
		Return json.RawMessage `json:"return"`
	}
	if err := json.Unmarshal(raw, &reply); err != nil {
		return nil, fmt.Errorf("QMP %s: %w", name, err)
	}
	return reply.Return, nil
}
