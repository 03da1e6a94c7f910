package sysprep

import packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

// Compile-time check: a changed signature fails the build here, not when
// Packer loads the plugin.
var _ packersdk.Provisioner = (*Provisioner)(nil)
