//go:build tools

// Package tools pins actionlint, the GitHub Actions workflow linter `make lint`
// runs, in its own module so its dependencies never reach the plugin's.
package tools

import (
	_ "github.com/rhysd/actionlint/cmd/actionlint"
)
