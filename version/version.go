// Package version holds the plugin's version. Release builds set both vars
// with -ldflags "-X"; a plain `go build` reports the development version.
package version

import "github.com/hashicorp/packer-plugin-sdk/version"

var (
	// Version is the plugin's semantic version.
	Version = "0.1.0"
	// VersionPrerelease marks a pre-release such as "dev"; empty for a release.
	VersionPrerelease = "dev"
	// VersionMetadata is optional build metadata.
	VersionMetadata = ""

	// PluginVersion is what the plugin reports to Packer in `describe`.
	PluginVersion = version.NewPluginVersion(Version, VersionPrerelease, VersionMetadata)
)
