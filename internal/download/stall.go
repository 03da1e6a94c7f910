// Package download watches a download for stalls. Packer's SDK bounds only
// a whole HTTP read (30 minutes by default), so a server that stops
// sending would hang a build with no message: the getter's progress
// stream is watched instead, and the download is cancelled when no byte
// arrives for a while.
package download

import (
	"context"
	"io"
	"sync"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// WatchStall calls download with a context and a UI to download with:
// the UI's TrackProgress records every byte the getter reads. When no byte
// arrives for timeout (from the request until the body ends), the context
// is cancelled. It reports whether that happened.
func WatchStall(ctx context.Context, ui packersdk.Ui, timeout time.Duration, download func(context.Context, packersdk.Ui)) (stalled bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	progress := &progress{last: time.Now(), armed: true}
	stall := make(chan struct{})
	go progress.watch(ctx, timeout, func() { close(stall); cancel() })

	download(ctx, &ProgressUI{Ui: ui, progress: progress})
	select {
	case <-stall:
		return true
	default:
		return false
	}
}

// progress is when the download last moved. It is armed while waiting for
// a response and while the body streams; once the body is closed the
// getter verifies the checksum, which reads no network data.
type progress struct {
	mu    sync.Mutex
	last  time.Time
	armed bool
}

func (p *progress) touch(armed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last, p.armed = time.Now(), armed
}

func (p *progress) idle() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.armed {
		return 0
	}
	return time.Since(p.last)
}

// watch calls stall once the download has been idle for timeout.
func (p *progress) watch(ctx context.Context, timeout time.Duration, stall func()) {
	tick := time.NewTicker(min(timeout/4, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if p.idle() >= timeout {
				stall()
				return
			}
		}
	}
}

// ProgressUI is the UI WatchStall hands the download: it gives the getter
// a body that records its progress.
type ProgressUI struct {
	packersdk.Ui
	progress *progress
}

var _ packersdk.Ui = (*ProgressUI)(nil)

// TrackProgress wraps the getter's stream so that each read counts as
// progress, and its close disarms the watch.
func (u *ProgressUI) TrackProgress(src string, currentSize, totalSize int64, stream io.ReadCloser) io.ReadCloser {
	u.progress.touch(true)
	return u.Ui.TrackProgress(src, currentSize, totalSize, &progressReader{ReadCloser: stream, progress: u.progress})
}

type progressReader struct {
	io.ReadCloser
	progress *progress
}

func (r *progressReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if n > 0 {
		r.progress.touch(true)
	}
	return n, err
}

func (r *progressReader) Close() error {
	r.progress.touch(false)
	return r.ReadCloser.Close()
}
