package export

import packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

// Compile-time checks: a changed signature fails the build here, not when
// Packer loads the plugin.
var (
	_ packersdk.PostProcessor = (*PostProcessor)(nil)
	_ packersdk.Artifact      = (*Artifact)(nil)
)
