//go:build tools

// Package release pins goreleaser, used by `make release-check`. It has a
// module of its own because its dependency tree is large and only the
// release check needs it.
package release

import _ "github.com/goreleaser/goreleaser/v2"
