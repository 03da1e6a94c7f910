// Command packer-plugin-kvm is a Packer plugin that builds VM images with
// QEMU/KVM from cloud images.
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/plugin"

	"github.com/kvmforge/packer-plugin-kvm/builder/kvm"
	"github.com/kvmforge/packer-plugin-kvm/datasource/cloudimage"
	"github.com/kvmforge/packer-plugin-kvm/post-processor/export"
	"github.com/kvmforge/packer-plugin-kvm/provisioner/sysprep"
	"github.com/kvmforge/packer-plugin-kvm/version"
)

func main() {
	pps := plugin.NewSet()
	pps.RegisterBuilder(plugin.DEFAULT_NAME, new(kvm.Builder))
	pps.RegisterProvisioner("sysprep", new(sysprep.Provisioner))
	pps.RegisterPostProcessor("export", new(export.PostProcessor))
	pps.RegisterDatasource("cloudimage", new(cloudimage.Datasource))
	pps.SetVersion(version.PluginVersion)
	if err := pps.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		os.Exit(1)
	}
}
