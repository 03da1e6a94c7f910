package kvm

import (
	"context"
	"os"
)

// CreateDisk implements Driver.
func (d *QemuDriver) CreateDisk(ctx context.Context, path string, size int64) error {
	return d.qemuImg().CreateBlank(ctx, path, size)
}

// CreateDisk records the call and writes a placeholder file, as qemu-img
// would create one.
func (d *DriverMock) CreateDisk(ctx context.Context, path string, size int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.CreateDiskCalls = append(d.CreateDiskCalls, []interface{}{path, size})
	if d.CreateDiskErr != nil {
		return d.CreateDiskErr
	}
	return os.WriteFile(path, []byte("disk"), 0o644)
}
