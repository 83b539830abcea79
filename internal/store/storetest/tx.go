package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/store"
)

func testWriteErrorRollsBackEverything(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "keep", "p", 1, "k-keep"), rec(kindA, "gone", "p", 1, "k-gone"))
	rev0 := revision(t, s)

	err := s.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.Create(rec(kindA, "new", "p", 1, "k-new")); err != nil {
			return err
		}
		if err := tx.Create(rec(kindB, "other", "", 1)); err != nil {
			return err
		}
		if err := tx.Update(rec(kindA, "keep", "q", 2, "k-keep2")); err != nil {
			return err
		}
		if err := tx.Delete(kindA, "gone"); err != nil {
			return err
		}
		return errBoom
	})
	wantErrIs(t, "Write returning an error", err, errBoom)

	wantRevision(t, s, rev0)
	wantChanges(t, changes(t, s, rev0))
	wantAbsent(t, s, kindA, "new")
	wantAbsent(t, s, kindB, "other")
	checkItem(t, mustGet(t, s, kindA, "keep"), kindA, "keep", "p", rev0, doc{Name: "keep", N: 1})
	checkItem(t, mustGet(t, s, kindA, "gone"), kindA, "gone", "p", rev0, doc{Name: "gone", N: 1})
	wantKey(t, s, kindA, "k-keep", "keep")
	wantKey(t, s, kindA, "k-keep2", "")
	wantKey(t, s, kindA, "k-new", "")
	wantKey(t, s, kindA, "k-gone", "gone")
	wantIDs(t, "List(ref p)", list(t, s, kindA, "p"), "gone", "keep")

	// Returning a store error after earlier writes rolls those back too.
	err = s.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.Create(rec(kindA, "new", "", 1)); err != nil {
			return err
		}
		return tx.Create(rec(kindA, "keep", "", 1))
	})
	wantErrIs(t, "Write returning ErrConflict", err, store.ErrConflict)
	wantAbsent(t, s, kindA, "new")
	wantRevision(t, s, rev0)
	wantChanges(t, changes(t, s, rev0))

	// The next write takes the next revision: the rolled-back ones left no gap.
	rev := create(t, s, rec(kindA, "new", "", 1))
	if rev != rev0+1 {
		t.Fatalf("revision after rollbacks then a write = %d, want %d", rev, rev0+1)
	}
	wantChanges(t, changes(t, s, rev0), store.Change{Rev: rev0 + 1, Kind: kindA, ID: "new"})
}

func testWritePanicRollsBack(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "a", "", 1))
	func() {
		defer func() {
			if r := recover(); r != errBoom {
				t.Fatalf("recovered %v, want the closure's panic", r)
			}
		}()
		_ = s.Write(t.Context(), func(tx store.Tx) error {
			if err := tx.Create(rec(kindA, "p", "", 1)); err != nil {
				return err
			}
			if err := tx.Update(rec(kindA, "a", "", 2)); err != nil {
				return err
			}
			panic(errBoom)
		})
	}()
	// The store must not be left holding the write transaction: the next
	// write goes through.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Write(ctx, func(tx store.Tx) error { return tx.Create(rec(kindA, "q", "", 1)) }); err != nil {
		t.Fatalf("Write after a panicking Write: %v", err)
	}
	wantAbsent(t, s, kindA, "p")
	checkItem(t, mustGet(t, s, kindA, "a"), kindA, "a", "", 1, doc{Name: "a", N: 1})
	wantRevision(t, s, 2)
}

func testWriteWithoutChangesKeepsRevision(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "a", "", 1, "ka"))

	// Only reads.
	var txRev int64
	rev := mustWrite(t, s, func(tx store.Tx) error {
		txRev = tx.Revision()
		if _, err := tx.Get(kindA, "a"); err != nil {
			return err
		}
		if _, err := tx.List(kindA, store.ListOptions{}); err != nil {
			return err
		}
		_, err := tx.Lookup(kindA, "ka")
		return err
	})
	if txRev != 2 {
		t.Errorf("Tx.Revision() = %d, want 2 (the revision its writes would carry)", txRev)
	}
	if rev != 1 {
		t.Fatalf("revision after a read-only Write = %d, want 1", rev)
	}

	// Nothing at all.
	if rev := mustWrite(t, s, func(store.Tx) error { return nil }); rev != 1 {
		t.Fatalf("revision after an empty Write = %d, want 1", rev)
	}

	// Only failed writes, and the closure swallows the errors.
	rev = mustWrite(t, s, func(tx store.Tx) error {
		for _, err := range []error{
			tx.Update(rec(kindA, "missing", "", 1)),
			tx.Delete(kindA, "missing"),
			tx.Create(rec(kindA, "a", "", 1)),
			tx.Create(rec(kindA, "b", "", 1, "ka")),
		} {
			if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
				t.Errorf("failed write: %v, want ErrNotFound or ErrConflict", err)
			}
		}
		return nil
	})
	if rev != 1 {
		t.Fatalf("revision after a Write whose writes all failed = %d, want 1", rev)
	}
	wantChanges(t, changes(t, s, 1))

	// The next real write is revision 2.
	if rev := create(t, s, rec(kindA, "b", "", 1)); rev != 2 {
		t.Fatalf("revision after the next write = %d, want 2", rev)
	}
	wantChanges(t, changes(t, s, 0),
		store.Change{Rev: 1, Kind: kindA, ID: "a"},
		store.Change{Rev: 2, Kind: kindA, ID: "b"})
}

func testEachWriteBumpsRevisionByOne(t *testing.T, s store.Store) {
	for n := 1; n <= 5; n++ {
		prev := revision(t, s)
		var txRev int64
		var recs []string
		rev := mustWrite(t, s, func(tx store.Tx) error {
			txRev = tx.Revision()
			for i := range n {
				id := string(rune('a'+n-1)) + string(rune('0'+i))
				kind := kindA
				if i%2 == 1 {
					kind = kindB
				}
				if err := tx.Create(rec(kind, id, "", i)); err != nil {
					return err
				}
				recs = append(recs, kind+"/"+id)
			}
			return nil
		})
		if txRev != prev+1 || rev != prev+1 {
			t.Fatalf("write of %d records: Tx.Revision() = %d, revision after = %d; want both %d", n, txRev, rev, prev+1)
		}
		got := changes(t, s, prev)
		if len(got) != n {
			t.Fatalf("write of %d records made %d changes: %+v", n, len(got), got)
		}
		for i, c := range got {
			if c.Rev != rev || c.Kind+"/"+c.ID != recs[i] || c.Deleted {
				t.Fatalf("change %d = %+v, want {Rev:%d %s}", i, c, rev, recs[i])
			}
			if it := mustGet(t, s, c.Kind, c.ID); it.Rev != rev {
				t.Fatalf("%s/%s Rev = %d, want %d", c.Kind, c.ID, it.Rev, rev)
			}
		}
	}
	// A transaction mixing create, update and delete is still one revision,
	// and only the records it wrote carry it.
	rev := mustWrite(t, s, func(tx store.Tx) error {
		if err := tx.Create(rec(kindA, "z", "", 1)); err != nil {
			return err
		}
		if err := tx.Update(rec(kindA, "c0", "", 9)); err != nil {
			return err
		}
		return tx.Delete(kindA, "e0")
	})
	if rev != 6 {
		t.Fatalf("revision after mixed write = %d, want 6", rev)
	}
	for id, want := range map[string]int64{"z": 6, "c0": 6, "a0": 1, "b0": 2, "d0": 4, "e2": 5} {
		if it := mustGet(t, s, kindA, id); it.Rev != want {
			t.Errorf("%s Rev = %d, want %d", id, it.Rev, want)
		}
	}
}

func testTxSeesItsOwnWrites(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "old", "p", 1))
	rev := mustWrite(t, s, func(tx store.Tx) error {
		r := tx.Revision()
		if err := tx.Create(rec(kindA, "x", "p", 1, "kx")); err != nil {
			return err
		}
		it, err := tx.Get(kindA, "x")
		if err != nil {
			return err
		}
		checkItem(t, it, kindA, "x", "p", r, doc{Name: "x", N: 1})
		if id, err := tx.Lookup(kindA, "kx"); err != nil || id != "x" {
			t.Errorf("Lookup own key = %q, %v", id, err)
		}
		items, err := tx.List(kindA, store.ListOptions{Ref: "p"})
		if err != nil {
			return err
		}
		wantIDs(t, "List in tx", items, "old", "x")
		if err := tx.Update(rec(kindA, "x", "p", 2)); err != nil {
			return err
		}
		if it, err = tx.Get(kindA, "x"); err != nil {
			return err
		}
		checkItem(t, it, kindA, "x", "p", r, doc{Name: "x", N: 2})
		if err := tx.Delete(kindA, "x"); err != nil {
			return err
		}
		if _, err := tx.Get(kindA, "x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get after Delete in tx: %v, want ErrNotFound", err)
		}
		return tx.Create(rec(kindA, "y", "", 1))
	})
	wantAbsent(t, s, kindA, "x")
	wantKey(t, s, kindA, "kx", "")
	checkItem(t, mustGet(t, s, kindA, "y"), kindA, "y", "", rev, doc{Name: "y", N: 1})
	// Every step is in the feed, in order, under one revision.
	wantChanges(t, changes(t, s, 1),
		store.Change{Rev: 2, Kind: kindA, ID: "x"},
		store.Change{Rev: 2, Kind: kindA, ID: "x"},
		store.Change{Rev: 2, Kind: kindA, ID: "x", Deleted: true},
		store.Change{Rev: 2, Kind: kindA, ID: "y"})
}

func testTxUsableAfterNotFoundAndConflict(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "a", "", 1, "ka"), rec(kindA, "b", "", 1, "kb"))
	rev := mustWrite(t, s, func(tx store.Tx) error {
		check := func(what string, err, want error) {
			t.Helper()
			if !errors.Is(err, want) {
				t.Errorf("%s: %v, want %v", what, err, want)
			}
		}
		_, err := tx.Get(kindA, "nope")
		check("Get absent", err, store.ErrNotFound)
		_, err = tx.Lookup(kindA, "nokey")
		check("Lookup absent", err, store.ErrNotFound)
		check("Update absent", tx.Update(rec(kindA, "nope", "", 1)), store.ErrNotFound)
		check("Delete absent", tx.Delete(kindA, "nope"), store.ErrNotFound)
		check("Create duplicate ID", tx.Create(rec(kindA, "a", "", 5)), store.ErrConflict)
		check("Create taken key", tx.Create(rec(kindA, "c", "", 5, "kc", "ka")), store.ErrConflict)
		check("Update taken key", tx.Update(rec(kindA, "b", "", 5, "ka")), store.ErrConflict)

		// The failed calls changed nothing and the transaction goes on.
		if it, err := tx.Get(kindA, "b"); err != nil || decode(t, it).N != 1 {
			t.Errorf("b after failed Update = %s, %v", it.Data, err)
		}
		if err := tx.Create(rec(kindA, "c", "", 1, "kc")); err != nil {
			return err
		}
		if err := tx.Update(rec(kindA, "a", "", 5, "ka")); err != nil {
			return err
		}
		return tx.Delete(kindA, "b")
	})
	if rev != 2 {
		t.Fatalf("revision = %d, want 2", rev)
	}
	checkItem(t, mustGet(t, s, kindA, "a"), kindA, "a", "", 2, doc{Name: "a", N: 5})
	checkItem(t, mustGet(t, s, kindA, "c"), kindA, "c", "", 2, doc{Name: "c", N: 1})
	wantAbsent(t, s, kindA, "b")
	wantKey(t, s, kindA, "ka", "a")
	wantKey(t, s, kindA, "kb", "")
	wantKey(t, s, kindA, "kc", "c")
	wantChanges(t, changes(t, s, 1),
		store.Change{Rev: 2, Kind: kindA, ID: "c"},
		store.Change{Rev: 2, Kind: kindA, ID: "a"},
		store.Change{Rev: 2, Kind: kindA, ID: "b", Deleted: true})
}

func testReadSeesConsistentSnapshot(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "a", "p", 1), rec(kindA, "b", "p", 1))
	mustRead(t, s, func(tx store.ReadTx) error {
		// The first read pins the snapshot.
		if it, err := tx.Get(kindA, "a"); err != nil || decode(t, it).N != 1 {
			t.Fatalf("Get a = %s, %v", it.Data, err)
		}

		// Another goroutine commits a write while the snapshot is open.
		done := make(chan error, 1)
		go func() {
			done <- s.Write(t.Context(), func(w store.Tx) error {
				if err := w.Update(rec(kindA, "a", "p", 2)); err != nil {
					return err
				}
				if err := w.Update(rec(kindA, "b", "p", 2)); err != nil {
					return err
				}
				return w.Create(rec(kindA, "c", "p", 2))
			})
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("concurrent Write: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Write blocked by an open Read")
		}
		if rev := revision(t, s); rev != 2 {
			t.Fatalf("store revision after concurrent write = %d, want 2", rev)
		}

		// The snapshot does not move.
		if got := tx.Revision(); got != 1 {
			t.Errorf("ReadTx.Revision() = %d, want 1 (the snapshot's)", got)
		}
		for _, id := range []string{"a", "b"} {
			it, err := tx.Get(kindA, id)
			if err != nil {
				return err
			}
			checkItem(t, it, kindA, id, "p", 1, doc{Name: id, N: 1})
		}
		if it, err := tx.Get(kindA, "c"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get c in old snapshot = %s, %v; want ErrNotFound", it.Data, err)
		}
		items, err := tx.List(kindA, store.ListOptions{Ref: "p"})
		if err != nil {
			return err
		}
		wantIDs(t, "List in old snapshot", items, "a", "b")
		return nil
	})
	// A new Read sees the write.
	mustRead(t, s, func(tx store.ReadTx) error {
		if got := tx.Revision(); got != 2 {
			t.Errorf("new ReadTx.Revision() = %d, want 2", got)
		}
		items, err := tx.List(kindA, store.ListOptions{})
		if err != nil {
			return err
		}
		wantIDs(t, "List in new snapshot", items, "a", "b", "c")
		for _, it := range items {
			checkItem(t, it, kindA, it.ID, "p", 2, doc{Name: it.ID, N: 2})
		}
		return nil
	})
}

func testReadReturnsClosureError(t *testing.T, s store.Store) {
	err := s.Read(t.Context(), func(tx store.ReadTx) error {
		_, err := tx.Get(kindA, "missing")
		return err
	})
	wantErrIs(t, "Read returning ErrNotFound", err, store.ErrNotFound)
	err = s.Read(t.Context(), func(store.ReadTx) error { return errBoom })
	wantErrIs(t, "Read returning an error", err, errBoom)
}
