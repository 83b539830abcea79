package fsblob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/nubo-cloud/nubo/internal/blob"
)

// tmpPrefix marks files being written; they never hold a committed blob.
const tmpPrefix = ".tmp-"

// Store is a blob.Store over a directory.
type Store struct {
	root *os.Root
}

var _ blob.Store = (*Store)(nil)

// Open creates dir if needed (0700), opens it as the store's root and
// removes temporary files a crash left behind.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob dir: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open blob root: %w", err)
	}
	s := &Store{root: root}
	if err := s.sweep(); err != nil {
		root.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the root.
func (s *Store) Close() error { return s.root.Close() }

// sweep removes the temporary files of writes a crash cut off.
func (s *Store) sweep() error {
	return fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), tmpPrefix) {
			if err := s.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove stale %s: %w", p, err)
			}
		}
		return nil
	})
}

func checkKey(key string) error {
	if key == "" || !fs.ValidPath(key) || strings.HasPrefix(path.Base(key), tmpPrefix) {
		return fmt.Errorf("blob: invalid key %q", key)
	}
	return nil
}

// Create implements blob.Store.
func (s *Store) Create(_ context.Context, key string) (blob.Writer, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	dir := path.Dir(key)
	if dir != "." {
		if err := s.root.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("blob dir %s: %w", dir, err)
		}
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := path.Join(dir, tmpPrefix+path.Base(key)+"-"+hex.EncodeToString(rnd[:]))
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create blob %s: %w", key, err)
	}
	return &writer{s: s, f: f, tmp: tmp, key: key}, nil
}

type writer struct {
	s        *Store
	f        *os.File
	tmp, key string
	done     bool
	wb       writeback
}

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.wb.wrote(w.f, n)
	return n, err
}

// ReadFrom lets io.Copy from a file or socket use the kernel's fast paths.
func (w *writer) ReadFrom(r io.Reader) (int64, error) {
	n, err := w.f.ReadFrom(r)
	w.wb.wrote(w.f, int(n))
	return n, err
}

func (w *writer) Commit() error {
	if w.done {
		return errors.New("blob: writer already finished")
	}
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = w.s.root.Rename(w.tmp, w.key)
	}
	w.done = true
	if err != nil {
		w.s.root.Remove(w.tmp) //nolint:errcheck // best effort; sweep catches the rest
		return fmt.Errorf("commit blob %s: %w", w.key, err)
	}
	return nil
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	if err := w.s.root.Remove(w.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("abort blob %s: %w", w.key, err)
	}
	return nil
}

// Open implements blob.Store; the reader is an *os.File.
func (s *Store) Open(_ context.Context, key string) (io.ReadSeekCloser, int64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	f, err := s.root.Open(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, blob.ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open blob %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("stat blob %s: %w", key, err)
	}
	return f, st.Size(), nil
}

// Rename implements blob.Store.
func (s *Store) Rename(_ context.Context, from, to string) error {
	if err := checkKey(from); err != nil {
		return err
	}
	if err := checkKey(to); err != nil {
		return err
	}
	if dir := path.Dir(to); dir != "." {
		if err := s.root.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("blob dir %s: %w", dir, err)
		}
	}
	err := s.root.Rename(from, to)
	if errors.Is(err, fs.ErrNotExist) {
		return blob.ErrNotFound
	}
	return err
}

// Delete implements blob.Store.
func (s *Store) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}
