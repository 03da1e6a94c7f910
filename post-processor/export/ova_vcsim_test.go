package export

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/ovf/importer"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// The OVA goes through govc's import code (govmomi's importer: it finds
// the descriptor in the tar, asks the server for an import spec, maps the
// network and uploads the disk member over an NFC lease) into vcsim,
// govmomi's vSphere simulator (here an ESXi host) on 127.0.0.1. vcsim checks the spec like
// vCenter's API does, not the disk's content; the content is checked by
// TestPostProcess_ovaIsAnImportablePackage.
func TestOVA_importsIntoTheVCenterSimulator(t *testing.T) {
	img := testImage(t)
	out := t.TempDir()
	p := configure(t, map[string]interface{}{
		"output_directory": out,
		"target":           []map[string]interface{}{{"format": "ova", "guest_os_type": "debian10_64Guest"}},
	})
	ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: new(bytes.Buffer), ErrorWriter: new(bytes.Buffer)}
	build := kvmArtifact{files: []string{img}, generated: map[interface{}]interface{}{"CPUs": int8(2), "MemoryMiB": uint16(1024), "Firmware": "bios"}}
	if _, _, _, err := p.PostProcess(context.Background(), ui, build); err != nil {
		t.Fatal(err)
	}
	ova := filepath.Join(out, "base.ova")

	simulator.Test(func(ctx context.Context, c *vim25.Client) {
		finder := find.NewFinder(c)
		dc, err := finder.DefaultDatacenter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		finder.SetDatacenter(dc)
		ds, err := finder.DefaultDatastore(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pool, err := finder.DefaultResourcePool(ctx)
		if err != nil {
			t.Fatal(err)
		}
		folders, err := dc.Folders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var log strings.Builder
		imp := importer.Importer{
			Client: c, Finder: finder, Datacenter: dc, Datastore: ds, ResourcePool: pool, Folder: folders.VmFolder,
			Archive: &importer.TapeArchive{Path: ova, Opener: importer.Opener{Client: c}},
			Log: func(s string) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				return log.WriteString(s)
			},
		}
		ref, err := imp.Import(ctx, "*.ovf", importer.Options{
			NetworkMapping: []importer.Network{{Name: "VM Network", Network: "VM Network"}},
		})
		if err != nil {
			t.Fatalf("import into vcsim: %v\n%s", err, log.String())
		}
		if strings.Contains(log.String(), "arning") {
			t.Errorf("the import warned:\n%s", log.String())
		}
		var vm mo.VirtualMachine
		if err := object.NewVirtualMachine(c, *ref).Properties(ctx, *ref, []string{"config"}, &vm); err != nil {
			t.Fatal(err)
		}
		cfg := vm.Config
		if cfg.Name != "base" || cfg.Hardware.NumCPU != 2 || cfg.Hardware.MemoryMB != 1024 || cfg.Version != "vmx-14" || cfg.GuestId != "debian10_64Guest" {
			t.Errorf("imported VM %q: %d CPUs, %d MiB, %s, guest %s", cfg.Name, cfg.Hardware.NumCPU, cfg.Hardware.MemoryMB, cfg.Version, cfg.GuestId)
		}
		var disks, nics int
		for _, d := range cfg.Hardware.Device {
			switch d := d.(type) {
			case *types.VirtualDisk:
				disks++
				// The input is 20 MiB + 512 bytes: the OVA's whole MiB
				// survives the API's KiB sizing.
				if d.CapacityInKB*1024 != 21<<20 {
					t.Errorf("imported disk of %d KiB, want 21 MiB", d.CapacityInKB)
				}
			case *types.VirtualVmxnet3:
				nics++
			}
		}
		if disks != 1 || nics != 1 {
			t.Errorf("imported VM has %d disks and %d vmxnet3 adapters", disks, nics)
		}
	}, simulator.ESX())
}
