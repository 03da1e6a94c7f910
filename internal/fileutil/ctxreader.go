package fileutil

import (
	"context"
	"io"
)

// ContextReader reads from R until Ctx is done, so that a long copy stops
// when the build is cancelled.
type ContextReader struct {
	Ctx context.Context
	R   io.Reader
}

func (c ContextReader) Read(p []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	return c.R.Read(p)
}
