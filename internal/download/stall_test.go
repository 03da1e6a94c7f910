package download

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

func testUI() packersdk.Ui {
	return &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: io.Discard, ErrorWriter: io.Discard, PB: &packersdk.NoopProgressTracker{}}
}

// trickle yields one byte every interval, n times, and then, when stall
// is set, blocks until ctx ends, as a stuck mirror does.
type trickle struct {
	ctx      context.Context
	interval time.Duration
	n        int
	stall    bool
}

func (r *trickle) Read(p []byte) (int, error) {
	if r.n == 0 {
		if !r.stall {
			return 0, io.EOF
		}
		<-r.ctx.Done()
		return 0, r.ctx.Err()
	}
	time.Sleep(r.interval)
	r.n--
	p[0] = 'x'
	return 1, nil
}

func (r *trickle) Close() error { return nil }

// fetch reads the body through the UI, as the SDK's getter does.
func fetch(body func(context.Context) io.ReadCloser) func(context.Context, packersdk.Ui) {
	return func(ctx context.Context, ui packersdk.Ui) {
		stream := ui.TrackProgress("src", 0, 0, body(ctx))
		io.Copy(io.Discard, stream)
		stream.Close()
	}
}

func TestWatchStall_cancelsADownloadThatStopsSending(t *testing.T) {
	done := make(chan bool, 1)
	go func() {
		done <- WatchStall(context.Background(), testUI(), 200*time.Millisecond, fetch(func(ctx context.Context) io.ReadCloser {
			return &trickle{ctx: ctx, interval: time.Millisecond, n: 10, stall: true}
		}))
	}()
	select {
	case stalled := <-done:
		if !stalled {
			t.Fatal("a stalled download was not reported")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stalled download still hangs")
	}
}

// The timeout is on silence, not on the whole download.
func TestWatchStall_aSlowButSteadyDownloadCompletes(t *testing.T) {
	// 12 bytes 50 ms apart: twice the timeout in all, no gap near it.
	stalled := WatchStall(context.Background(), testUI(), 300*time.Millisecond, fetch(func(ctx context.Context) io.ReadCloser {
		return &trickle{ctx: ctx, interval: 50 * time.Millisecond, n: 12}
	}))
	if stalled {
		t.Fatal("a moving download was reported stalled")
	}
}

// After the body is closed (the checksum is verified), silence is no stall.
func TestWatchStall_aClosedBodyDisarmsTheWatch(t *testing.T) {
	stalled := WatchStall(context.Background(), testUI(), 100*time.Millisecond, func(ctx context.Context, ui packersdk.Ui) {
		fetch(func(ctx context.Context) io.ReadCloser { return &trickle{ctx: ctx, n: 1} })(ctx, ui)
		time.Sleep(400 * time.Millisecond)
	})
	if stalled {
		t.Fatal("the checksum's silence was reported as a stall")
	}
}
