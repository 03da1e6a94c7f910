package kvm

import (
	"context"
	"os"
	"strconv"
)

// CreateDisk implements Driver.
func (d *QemuDriver) CreateDisk(ctx context.Context, path string, size int64) error {
	_, err := d.qemuImg(ctx, "create", "-q", "-f", "qcow2", path, strconv.FormatInt(size, 10))
	return err
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
