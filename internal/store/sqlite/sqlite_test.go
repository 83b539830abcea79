package sqlite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/store"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
	"github.com/nubo-cloud/nubo/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "nubo.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// TestReopenResumes checks that a restarted process finds the records, keys,
// revision and change feed where it left them, and goes on from there.
func TestReopenResumes(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "nubo.db")
	open := func() store.Store {
		t.Helper()
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	}
	closeStore := func(s store.Store) {
		t.Helper()
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}

	s := open()
	for _, id := range []string{"a", "b", "c"} {
		if err := s.Write(ctx, func(tx store.Tx) error {
			return tx.Create(store.Record{Kind: "widget", ID: id, Ref: "p", Unique: []string{"key-" + id}, Value: map[string]string{"id": id}})
		}); err != nil {
			t.Fatalf("Create %s: %v", id, err)
		}
	}
	if err := s.Write(ctx, func(tx store.Tx) error { return tx.Delete("widget", "b") }); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Compact(ctx, 1); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	closeStore(s)

	for round := range 2 {
		s = open()
		want := int64(4 + round)
		rev, err := s.Revision(ctx)
		if err != nil || rev != want {
			t.Fatalf("round %d: Revision after reopen = %d, %v; want %d", round, rev, err, want)
		}
		if err := s.Read(ctx, func(tx store.ReadTx) error {
			items, err := tx.List("widget", store.ListOptions{Ref: "p"})
			if err != nil {
				return err
			}
			if len(items) != 2+round || items[0].ID != "a" || items[0].Rev != 1 || items[1].ID != "c" {
				t.Errorf("round %d: List after reopen = %+v", round, items)
			}
			if id, err := tx.Lookup("widget", "key-c"); err != nil || id != "c" {
				t.Errorf("round %d: Lookup(key-c) = %q, %v", round, id, err)
			}
			if _, err := tx.Lookup("widget", "key-b"); err == nil {
				t.Errorf("round %d: deleted record's key survived reopen", round)
			}
			return nil
		}); err != nil {
			t.Fatalf("Read: %v", err)
		}
		// Compaction survives too, and the feed goes on from the old revision.
		if _, err := s.Changes(ctx, 0, 10); err == nil {
			t.Errorf("round %d: Changes(0) after reopen succeeded, want ErrCompacted", round)
		}
		ch, err := s.Changes(ctx, 1, 10)
		if err != nil || len(ch) != int(want)-1 || ch[0].Rev != 2 || ch[len(ch)-1].Rev != want {
			t.Fatalf("round %d: Changes(1) after reopen = %+v, %v", round, ch, err)
		}
		if rev, err := s.Wait(ctx, want-1); err != nil || rev != want {
			t.Fatalf("round %d: Wait(%d) = %d, %v", round, want-1, rev, err)
		}
		// The next write carries the next revision.
		if err := s.Write(ctx, func(tx store.Tx) error {
			if got := tx.Revision(); got != want+1 {
				t.Errorf("round %d: Tx.Revision() = %d, want %d", round, got, want+1)
			}
			return tx.Create(store.Record{Kind: "widget", ID: "n" + string(rune('0'+round)), Ref: "p", Value: round})
		}); err != nil {
			t.Fatalf("Write after reopen: %v", err)
		}
		closeStore(s)
	}
}

// TestCheckpointsInBackground checks that committed pages reach the database
// file without a write crossing the WAL's auto-checkpoint threshold: the
// background checkpointer copies them.
func TestCheckpointsInBackground(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "nubo.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	before := fileSize(t, path)
	blob := strings.Repeat("x", 4000)
	for i := range 400 { // ~1.6 MB, far below the auto-checkpoint's 16384 pages
		if err := s.Write(ctx, func(tx store.Tx) error {
			return tx.Create(store.Record{Kind: "widget", ID: fmt.Sprintf("w%03d", i), Value: map[string]string{"blob": blob}})
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for fileSize(t, path) < before+1_000_000 {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes (was %d) 5 s after 1.6 MB of writes: not checkpointed", fileSize(t, path), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
