//go:build tools

// Package tools pins the developer tools this repository builds from the Go
// module proxy: the packer CLI, packer-sdc and goreleaser. They live in their
// own module so that their dependency trees never leak into the plugin's.
package tools

import (
	_ "github.com/hashicorp/packer"
	_ "github.com/hashicorp/packer-plugin-sdk/cmd/packer-sdc"
)
