//go:build tools

// Package tools pins staticcheck and goimports, which `make lint` runs, in
// their own module so their dependencies never reach the plugin's.
package tools

import (
	_ "golang.org/x/tools/cmd/goimports"
	_ "honnef.co/go/tools/cmd/staticcheck"
)
