package kvm

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// stepDownloadSource runs the SDK's download of the source image with a
// stall timeout: the SDK only bounds a whole HTTP read (30 minutes by
// default), so a server that stops sending would hang the build with no
// message. The download's progress stream is watched; when no byte arrives
// for StallTimeout (from the request until the body ends), the download is
// cancelled, its partial file is removed from Packer's cache and the build
// fails naming download_stall_timeout. Local files and other schemes
// (whose getters report no progress) are not watched.
//
// It reads ui (and hands the download a wrapped one) and writes what
// StepDownload writes (its ResultKey).
type stepDownloadSource struct {
	Download     *commonsteps.StepDownload
	StallTimeout time.Duration
}

func (s *stepDownloadSource) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	source := s.Download.Url[0]
	if s.StallTimeout <= 0 || !isHTTP(source) {
		return s.Download.Run(ctx, state)
	}
	ui := keyUI.Get(state)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	progress := &downloadProgress{last: time.Now(), armed: true}
	stalled := make(chan struct{})
	go progress.watch(ctx, s.StallTimeout, func() { close(stalled); cancel() })

	keyUI.Put(state, &progressUi{Ui: ui, progress: progress})
	action := s.Download.Run(ctx, state)
	keyUI.Put(state, ui)

	select {
	case <-stalled:
	default:
		return action
	}
	if _, target, err := s.Download.UseSourceToFindCacheTarget(source); err == nil {
		os.Remove(target)
	}
	return halt(state, fmt.Errorf("the download of the source image stalled: no data from %s for %s (download_stall_timeout); check the URL and the network, or raise download_stall_timeout", source, s.StallTimeout))
}

func (s *stepDownloadSource) Cleanup(state multistep.StateBag) { s.Download.Cleanup(state) }

func isHTTP(source string) bool {
	u, err := url.Parse(source)
	return err == nil && (strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https"))
}

// downloadProgress is when the download last moved. It is armed while
// waiting for a response and while the body streams; once the body is
// closed the getter verifies the checksum, which reads no network data.
type downloadProgress struct {
	mu    sync.Mutex
	last  time.Time
	armed bool
}

func (p *downloadProgress) touch(armed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last, p.armed = time.Now(), armed
}

func (p *downloadProgress) idle() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.armed {
		return 0
	}
	return time.Since(p.last)
}

// watch calls stall once the download has been idle for timeout.
func (p *downloadProgress) watch(ctx context.Context, timeout time.Duration, stall func()) {
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

// progressUi hands the getter a body that records its progress.
type progressUi struct {
	packersdk.Ui
	progress *downloadProgress
}

func (u *progressUi) TrackProgress(src string, currentSize, totalSize int64, stream io.ReadCloser) io.ReadCloser {
	u.progress.touch(true)
	return u.Ui.TrackProgress(src, currentSize, totalSize, &progressReader{ReadCloser: stream, progress: u.progress})
}

type progressReader struct {
	io.ReadCloser
	progress *downloadProgress
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
