package blob

import (
	"context"
	"errors"
	"io"
)

// ErrNotFound means no committed blob has the key.
var ErrNotFound = errors.New("blob: not found")

// Store keeps blobs by key. Keys are slash-separated relative names
// ("images/<id>"); implementations reject keys that climb out of their root.
type Store interface {
	// Create starts a new blob under key. Nothing is visible under key until
	// the writer's Commit returns nil; Abort (or a failed Commit) leaves no
	// bytes behind. Committing replaces any blob already under key.
	Create(ctx context.Context, key string) (Writer, error)
	// Open returns a committed blob and its size, or ErrNotFound. The
	// reader may also implement io.ReaderAt and io.WriterTo (a file does),
	// which callers may use for zero-copy transfers.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error)
	// Rename moves a committed blob to another key atomically, replacing
	// what was there; ErrNotFound if from does not exist.
	Rename(ctx context.Context, from, to string) error
	// Delete removes a committed blob; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Writer receives a blob's bytes.
type Writer interface {
	io.Writer
	// Commit makes the bytes durable and visible under the key, atomically.
	Commit() error
	// Abort discards the bytes written so far. It is safe to call after
	// Commit (then it does nothing) and more than once.
	Abort() error
}
