package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/store"
)

func testChangesAfterRevisionInOrder(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "a", "", 1), rec(kindA, "b", "", 1)) // rev 1
	update(t, s, rec(kindA, "a", "", 2))                         // rev 2
	mustWrite(t, s, func(tx store.Tx) error {                    // rev 3
		if err := tx.Delete(kindA, "b"); err != nil {
			return err
		}
		return tx.Create(rec(kindB, "c", "", 1))
	})
	mustWrite(t, s, func(tx store.Tx) error { return tx.Delete(kindA, "a") }) // rev 4

	all := []store.Change{
		{Rev: 1, Kind: kindA, ID: "a"},
		{Rev: 1, Kind: kindA, ID: "b"},
		{Rev: 2, Kind: kindA, ID: "a"},
		{Rev: 3, Kind: kindA, ID: "b", Deleted: true},
		{Rev: 3, Kind: kindB, ID: "c"},
		{Rev: 4, Kind: kindA, ID: "a", Deleted: true},
	}
	wantChanges(t, changes(t, s, 0), all...)
	wantChanges(t, changes(t, s, 1), all[2:]...)
	wantChanges(t, changes(t, s, 2), all[3:]...)
	wantChanges(t, changes(t, s, 3), all[5:]...)
	wantChanges(t, changes(t, s, 4))
	wantChanges(t, changes(t, s, 100)) // ahead of the store: nothing, no error

	// limit caps the number of changes returned, oldest first.
	for _, c := range []struct {
		after int64
		limit int
		want  []store.Change
	}{
		{0, 1, all[:1]},
		{0, 3, all[:3]},
		{0, 6, all},
		{0, 7, all},
		{2, 1, all[3:4]},
		{2, 2, all[3:5]},
	} {
		got, err := s.Changes(t.Context(), c.after, c.limit)
		if err != nil {
			t.Fatalf("Changes(%d, %d): %v", c.after, c.limit, err)
		}
		wantChanges(t, got, c.want...)
	}
}

func testCompactDropsOldChanges(t *testing.T, s store.Store) {
	for i := range 5 {
		create(t, s, rec(kindA, string(rune('a'+i)), "", i)) // revs 1..5
	}
	ctx := t.Context()
	if err := s.Compact(ctx, 3); err != nil {
		t.Fatalf("Compact(3): %v", err)
	}
	for _, after := range []int64{0, 1, 2} {
		_, err := s.Changes(ctx, after, 100)
		wantErrIs(t, "Changes after a compacted revision", err, store.ErrCompacted)
	}
	wantChanges(t, changes(t, s, 3),
		store.Change{Rev: 4, Kind: kindA, ID: "d"},
		store.Change{Rev: 5, Kind: kindA, ID: "e"})
	// Compaction leaves the records and the revision alone.
	wantRevision(t, s, 5)
	checkItem(t, mustGet(t, s, kindA, "a"), kindA, "a", "", 1, doc{Name: "a", N: 0})

	// Compacting to an older revision changes nothing.
	if err := s.Compact(ctx, 2); err != nil {
		t.Fatalf("Compact(2): %v", err)
	}
	wantChanges(t, changes(t, s, 3),
		store.Change{Rev: 4, Kind: kindA, ID: "d"},
		store.Change{Rev: 5, Kind: kindA, ID: "e"})

	// Compacting past the current revision drops everything there is, but
	// changes written later are still served.
	if err := s.Compact(ctx, 100); err != nil {
		t.Fatalf("Compact(100): %v", err)
	}
	_, err := s.Changes(ctx, 4, 100)
	wantErrIs(t, "Changes(4) after Compact(100)", err, store.ErrCompacted)
	wantChanges(t, changes(t, s, 5))
	create(t, s, rec(kindA, "f", "", 6))
	wantChanges(t, changes(t, s, 5), store.Change{Rev: 6, Kind: kindA, ID: "f"})
	wantRevision(t, s, 6)
}

func testWaitReturnsOnWrite(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "a", "", 1))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	// Already past: returns at once.
	if rev, err := s.Wait(ctx, 0); err != nil || rev != 1 {
		t.Fatalf("Wait(0) = %d, %v; want 1", rev, err)
	}

	res := goWait(ctx, s, 1)
	select {
	case r := <-res:
		t.Fatalf("Wait(1) returned %d, %v before any write", r.rev, r.err)
	case <-time.After(100 * time.Millisecond):
	}
	// Another goroutine writes.
	go func() {
		if err := s.Write(ctx, func(tx store.Tx) error { return tx.Create(rec(kindA, "b", "", 1)) }); err != nil {
			t.Errorf("Write: %v", err)
		}
	}()
	select {
	case r := <-res:
		if r.err != nil || r.rev != 2 {
			t.Fatalf("Wait(1) = %d, %v; want 2", r.rev, r.err)
		}
	case <-ctx.Done():
		t.Fatal("Wait(1) did not return after a write")
	}
}

func testWaitReturnsOnContextEnd(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "a", "", 1))

	ctx, cancel := context.WithCancel(t.Context())
	res := goWait(ctx, s, 1)
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case r := <-res:
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("Wait after cancel: err = %v, want context.Canceled", r.err)
		}
		if r.rev != 1 {
			t.Errorf("Wait after cancel: rev = %d, want the latest revision 1", r.rev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after its context was cancelled")
	}

	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	rev, err := s.Wait(ctx, 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait past deadline: err = %v, want context.DeadlineExceeded", err)
	}
	if rev != 1 {
		t.Errorf("Wait past deadline: rev = %d, want 1", rev)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Wait took %v to notice its deadline", d)
	}
}
