package fsblob

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubo-cloud/nubo/internal/blob"
)

func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestCommit_MakesBlobVisibleOnlyWhenComplete(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, err := s.Create(t.Context(), "images/a")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "hello ")
	if _, _, err := s.Open(t.Context(), "images/a"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("open before commit: err = %v, want ErrNotFound", err)
	}
	io.WriteString(w, "world")
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	r, n, err := s.Open(t.Context(), "images/a")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	if string(b) != "hello world" || n != 11 {
		t.Fatalf("got %q (%d), want hello world (11)", b, n)
	}
	if got := files(t, dir); len(got) != 1 || got[0] != filepath.Join("images", "a") {
		t.Fatalf("files = %v, want only images/a", got)
	}
}

func TestAbort_CutOffWriteLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	defer s.Close()
	w, err := s.Create(t.Context(), "images/b")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(strings.Repeat("x", 4096)))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("second abort: %v", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("files after abort = %v, want none", got)
	}
	if _, _, err := s.Open(t.Context(), "images/b"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("open after abort: err = %v", err)
	}
}

func TestOpen_SweepsTempFilesOfACrash(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	w, _ := s.Create(t.Context(), "images/c")
	w.Write([]byte("partial"))
	// Simulate a crash: the process dies without Commit or Abort.
	s.Close()
	if len(files(t, dir)) != 1 {
		t.Fatal("expected one temporary file before the sweep")
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("files after reopen = %v, want none", got)
	}
}

func TestKeys_CannotEscapeRoot(t *testing.T) {
	s, _ := Open(t.TempDir())
	defer s.Close()
	for _, k := range []string{"../x", "/etc/passwd", "", "a/../../b", "images/.tmp-x"} {
		if _, err := s.Create(t.Context(), k); err == nil {
			t.Errorf("Create(%q) succeeded, want an error", k)
		}
	}
}

func TestRenameAndDelete(t *testing.T) {
	s, _ := Open(t.TempDir())
	defer s.Close()
	w, _ := s.Create(t.Context(), "staging/d")
	w.Write([]byte("data"))
	w.Commit()
	if err := s.Rename(t.Context(), "staging/d", "images/d"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(t.Context(), "staging/d"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("staged blob still there: %v", err)
	}
	if err := s.Delete(t.Context(), "images/d"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(t.Context(), "images/d"); err != nil {
		t.Fatalf("deleting a missing blob: %v", err)
	}
	if err := s.Rename(t.Context(), "staging/none", "images/none"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("rename missing: err = %v", err)
	}
}
