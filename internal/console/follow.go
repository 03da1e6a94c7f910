package console

import (
	"context"
	"errors"
	"os"
	"regexp"
	"time"
)

// ErrNoMatch: the console printed nothing matching within the timeout.
var ErrNoMatch = errors.New("no match on the serial console")

// ErrStopped: the stop channel closed (the VM exited) before a match.
var ErrStopped = errors.New("the VM stopped before the serial console matched")

// Follower reads a serial console log while the VM writes it and waits for
// patterns in its text (Stream's cleaning). Each match consumes the text up
// to its end: the next Wait sees only what came after, so two waits for
// prompts printed in one burst both match, in order.
type Follower struct {
	// Path is the log file; it may appear after the first Wait starts.
	Path string
	// Interval between reads of the file; 0 is 100ms.
	Interval time.Duration

	file   *os.File
	stream Stream
	text   string // cleaned text after the previous match
}

// maxUnmatched bounds the text kept while waiting: past it, only the last
// keepUnmatched bytes are kept (a pattern spans a prompt, not megabytes).
const maxUnmatched, keepUnmatched = 1 << 20, 64 << 10

// Wait waits until the console's text after the previous match matches re:
// for at most timeout, until stop closes (then the text written so far is
// still matched once), or until ctx ends.
func (f *Follower) Wait(ctx context.Context, re *regexp.Regexp, timeout time.Duration, stop <-chan struct{}) error {
	interval := f.Interval
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if f.match(re) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return ErrNoMatch
		case <-stop:
			if f.match(re) {
				return nil
			}
			return ErrStopped
		case <-tick.C:
		}
	}
}

// match reads what the VM wrote since the last read and looks for re in
// the text after the previous match.
func (f *Follower) match(re *regexp.Regexp) bool {
	f.read()
	loc := re.FindStringIndex(f.text)
	if loc == nil {
		if len(f.text) > maxUnmatched {
			f.text = f.text[len(f.text)-keepUnmatched:]
		}
		return false
	}
	f.text = f.text[loc[1]:]
	return true
}

// read appends what was written since the last read.
func (f *Follower) read() {
	if f.file == nil {
		file, err := os.Open(f.Path)
		if err != nil {
			return // not there yet
		}
		f.file = file
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := f.file.Read(buf)
		f.text += f.stream.Write(buf[:n])
		if err != nil || n == 0 { // io.EOF: all that is written so far
			return
		}
	}
}

// Close closes the log file.
func (f *Follower) Close() error {
	if f.file == nil {
		return nil
	}
	return f.file.Close()
}
