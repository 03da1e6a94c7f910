package vmdk

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"sync"

	"github.com/klauspost/compress/zlib"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// compressed is one grain ready to write: its marker and zlib stream,
// padded to a sector.
type compressed struct {
	index int64
	data  []byte
}

// job is one grain on its way through the pool; done delivers it.
type job struct {
	index int64
	raw   []byte
	done  chan compressed
}

// compressGrains reads the grains that hold data in order, compresses
// them on o.Workers goroutines and hands them to emit in grain order. At
// most a few grains per worker are in flight, so memory stays small
// whatever the disk's size.
func compressGrains(ctx context.Context, src io.ReaderAt, extents []fileutil.Extent, o Options, size int64, emit func(compressed) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	window := 4 * o.Workers
	ordered := make(chan *job, window)
	jobs := make(chan *job, window)
	pool := make(bufferPool, 2*window+o.Workers)

	var readErr error
	go func() {
		defer close(ordered)
		defer close(jobs)
		readErr = readGrains(ctx, src, extents, size, pool, func(j *job) bool {
			select {
			case ordered <- j:
			case <-ctx.Done():
				return false
			}
			jobs <- j // room: jobs holds no more than ordered
			return true
		})
	}()
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			compressWorker(jobs, o.Level, pool)
		}()
	}
	defer wg.Wait()

	for j := range ordered {
		var g compressed
		select {
		case g = <-j.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := emit(g); err != nil {
			cancel()
			return err
		}
	}
	if readErr != nil {
		return readErr
	}
	return ctx.Err()
}

// readGrains reads each grain that overlaps a data extent and is not all
// zeros, and passes it on; send returns false once the work is cancelled.
func readGrains(ctx context.Context, src io.ReaderAt, extents []fileutil.Extent, size int64, pool bufferPool, send func(*job) bool) error {
	next := int64(0) // the first grain not yet read
	for _, e := range extents {
		first := max(e.Offset/grainBytes, next)
		last := (min(e.Offset+e.Length, size) - 1) / grainBytes
		for g := first; g <= last; g++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			raw := pool.get()
			n := min(int64(grainBytes), size-g*grainBytes)
			if _, err := src.ReadAt(raw[:n], g*grainBytes); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			next = g + 1
			if allZero(raw) {
				pool.put(raw)
				continue
			}
			if !send(&job{index: g, raw: raw, done: make(chan compressed, 1)}) {
				return ctx.Err()
			}
		}
	}
	return nil
}

func compressWorker(jobs <-chan *job, level int, pool bufferPool) {
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, level)
	for j := range jobs {
		buf.Reset()
		buf.Write(make([]byte, 12)) // the grain marker, filled below
		zw.Reset(&buf)
		zw.Write(j.raw) // a bytes.Buffer does not fail
		zw.Close()
		pool.put(j.raw)
		out := make([]byte, (int64(buf.Len())+sectorSize-1)/sectorSize*sectorSize)
		copy(out, buf.Bytes())
		binary.LittleEndian.PutUint64(out[0:], uint64(j.index*grainSectors))
		binary.LittleEndian.PutUint32(out[8:], uint32(buf.Len()-12))
		j.done <- compressed{index: j.index, data: out}
	}
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// bufferPool recycles grain buffers.
type bufferPool chan []byte

// get returns a zeroed grain buffer.
func (p bufferPool) get() []byte {
	select {
	case b := <-p:
		clear(b)
		return b
	default:
		return make([]byte, grainBytes)
	}
}

func (p bufferPool) put(b []byte) {
	select {
	case p <- b:
	default:
	}
}
