package storetest

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/nubo-cloud/nubo/internal/store"
)

func testEmptyStore(t *testing.T, s store.Store) {
	wantRevision(t, s, 0)
	wantChanges(t, changes(t, s, 0))
	mustRead(t, s, func(tx store.ReadTx) error {
		if got := tx.Revision(); got != 0 {
			t.Errorf("ReadTx.Revision() = %d, want 0", got)
		}
		if _, err := tx.Get(kindA, "x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get on empty store: %v, want ErrNotFound", err)
		}
		if _, err := tx.Lookup(kindA, "k"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Lookup on empty store: %v, want ErrNotFound", err)
		}
		items, err := tx.List(kindA, store.ListOptions{})
		if err != nil || len(items) != 0 {
			t.Errorf("List on empty store = %v, %v; want none", items, err)
		}
		return nil
	})
}

func testCreateGetRoundTrip(t *testing.T, s store.Store) {
	want := doc{Name: "first", N: 7, Tags: []string{"x", "ü", `"quoted"`}}
	var txRev int64
	rev := mustWrite(t, s, func(tx store.Tx) error {
		txRev = tx.Revision()
		return tx.Create(store.Record{Kind: kindA, ID: "a1", Ref: "p1", Unique: []string{"dom/first"}, Value: want})
	})
	if rev != 1 || txRev != 1 {
		t.Fatalf("first write: Tx.Revision() = %d, store revision after = %d; want 1 and 1", txRev, rev)
	}
	checkItem(t, mustGet(t, s, kindA, "a1"), kindA, "a1", "p1", 1, want)
	wantKey(t, s, kindA, "dom/first", "a1")

	// A record without Ref or unique keys.
	create(t, s, store.Record{Kind: kindA, ID: "a2", Value: doc{Name: "second"}})
	checkItem(t, mustGet(t, s, kindA, "a2"), kindA, "a2", "", 2, doc{Name: "second"})

	// The generic helpers decode the same data.
	mustRead(t, s, func(tx store.ReadTx) error {
		got, err := store.Get[doc](tx, kindA, "a1")
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("store.Get = %+v, want %+v", *got, want)
		}
		all, err := store.List[doc](tx, kindA, store.ListOptions{})
		if err != nil {
			return err
		}
		if wantAll := []doc{want, {Name: "second"}}; !reflect.DeepEqual(all, wantAll) {
			t.Errorf("store.List = %+v, want %+v", all, wantAll)
		}
		if _, err := store.Get[doc](tx, kindA, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("store.Get absent: %v, want ErrNotFound", err)
		}
		return nil
	})
}

func testUpdateReplacesRecord(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "a", "p1", 1))
	create(t, s, rec(kindA, "b", "p1", 1))
	want := doc{Name: "renamed", N: 2, Tags: []string{"t"}}
	rev := update(t, s, store.Record{Kind: kindA, ID: "a", Ref: "p2", Value: want})
	if rev != 3 {
		t.Fatalf("revision after update = %d, want 3", rev)
	}
	checkItem(t, mustGet(t, s, kindA, "a"), kindA, "a", "p2", 3, want)
	// The record not written keeps its revision.
	checkItem(t, mustGet(t, s, kindA, "b"), kindA, "b", "p1", 2, doc{Name: "b", N: 1})
	// Ref moved: the old filter no longer finds it.
	wantIDs(t, "List(ref p1)", list(t, s, kindA, "p1"), "b")
	wantIDs(t, "List(ref p2)", list(t, s, kindA, "p2"), "a")
	// Updating to an empty Ref clears it.
	update(t, s, rec(kindA, "a", "", 3))
	checkItem(t, mustGet(t, s, kindA, "a"), kindA, "a", "", 4, doc{Name: "a", N: 3})
	wantIDs(t, "List(ref p2)", list(t, s, kindA, "p2"))
}

func testDeleteRemovesRecord(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "a", "p", 1, "key-a"), rec(kindA, "b", "p", 1))
	rev := mustWrite(t, s, func(tx store.Tx) error { return tx.Delete(kindA, "a") })
	if rev != 2 {
		t.Fatalf("revision after delete = %d, want 2", rev)
	}
	wantAbsent(t, s, kindA, "a")
	wantKey(t, s, kindA, "key-a", "")
	wantIDs(t, "List", list(t, s, kindA, ""), "b")
	wantIDs(t, "List(ref p)", list(t, s, kindA, "p"), "b")

	// Deleting again finds nothing.
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.Delete(kindA, "a") })
	wantErrIs(t, "second Delete", err, store.ErrNotFound)

	// The ID can be used again.
	rev = create(t, s, rec(kindA, "a", "q", 9))
	checkItem(t, mustGet(t, s, kindA, "a"), kindA, "a", "q", rev, doc{Name: "a", N: 9})
}

func testNotFoundOnAbsentRecords(t *testing.T, s store.Store) {
	// A record of another kind with the same ID must not be found either.
	create(t, s, rec(kindB, "x", "", 1))
	mustRead(t, s, func(tx store.ReadTx) error {
		for _, id := range []string{"x", "missing"} {
			if it, err := tx.Get(kindA, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Get(%q) = %+v, %v; want ErrNotFound", id, it, err)
			}
		}
		return nil
	})
	for _, id := range []string{"x", "missing"} {
		err := s.Write(t.Context(), func(tx store.Tx) error { return tx.Update(rec(kindA, id, "", 1)) })
		wantErrIs(t, "Update absent "+id, err, store.ErrNotFound)
		err = s.Write(t.Context(), func(tx store.Tx) error { return tx.Delete(kindA, id) })
		wantErrIs(t, "Delete absent "+id, err, store.ErrNotFound)
	}
	wantAbsent(t, s, kindA, "x")
	wantRevision(t, s, 1)
}

func testKindsAreSeparate(t *testing.T, s store.Store) {
	// The same ID and the same unique key in two kinds do not collide.
	create(t, s, rec(kindA, "x", "p", 1, "shared-key"), rec(kindB, "x", "p", 2, "shared-key"))
	checkItem(t, mustGet(t, s, kindA, "x"), kindA, "x", "p", 1, doc{Name: "x", N: 1})
	checkItem(t, mustGet(t, s, kindB, "x"), kindB, "x", "p", 1, doc{Name: "x", N: 2})
	items := list(t, s, kindA, "")
	wantIDs(t, "List(kindA)", items, "x")
	if items[0].Kind != kindA {
		t.Fatalf("List(kindA) item kind = %q", items[0].Kind)
	}
	wantIDs(t, "List(kindB, ref p)", list(t, s, kindB, "p"), "x")

	update(t, s, rec(kindA, "x", "p", 10))
	checkItem(t, mustGet(t, s, kindB, "x"), kindB, "x", "p", 1, doc{Name: "x", N: 2})

	mustWrite(t, s, func(tx store.Tx) error { return tx.Delete(kindA, "x") })
	wantAbsent(t, s, kindA, "x")
	wantKey(t, s, kindA, "shared-key", "")
	checkItem(t, mustGet(t, s, kindB, "x"), kindB, "x", "p", 1, doc{Name: "x", N: 2})
	wantKey(t, s, kindB, "shared-key", "x")
}

func testCreateDuplicateIDConflicts(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "a", "p", 1, "k1"))
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.Create(rec(kindA, "a", "q", 2, "k2")) })
	wantErrIs(t, "Create duplicate ID", err, store.ErrConflict)
	checkItem(t, mustGet(t, s, kindA, "a"), kindA, "a", "p", 1, doc{Name: "a", N: 1})
	wantKey(t, s, kindA, "k1", "a")
	wantKey(t, s, kindA, "k2", "")
	wantRevision(t, s, 1)
}

func testCreateDuplicateUniqueKeyConflicts(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "a", "", 1, "dom/name"))
	err := s.Write(t.Context(), func(tx store.Tx) error {
		return tx.Create(rec(kindA, "b", "", 1, "b-only", "dom/name"))
	})
	wantErrIs(t, "Create with taken key", err, store.ErrConflict)
	wantAbsent(t, s, kindA, "b")
	wantKey(t, s, kindA, "dom/name", "a")
	wantKey(t, s, kindA, "b-only", "")
	wantRevision(t, s, 1)

	// Two records created in one transaction with the same key conflict too.
	err = s.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.Create(rec(kindA, "c", "", 1, "fresh")); err != nil {
			return err
		}
		return tx.Create(rec(kindA, "d", "", 1, "fresh"))
	})
	wantErrIs(t, "second Create with the key of the first", err, store.ErrConflict)
	wantAbsent(t, s, kindA, "c")
	wantKey(t, s, kindA, "fresh", "")
	wantRevision(t, s, 1)
}

func testUpdateTakenUniqueKeyConflicts(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "a", "", 1, "ka"), rec(kindA, "b", "pb", 1, "kb"))
	err := s.Write(t.Context(), func(tx store.Tx) error {
		return tx.Update(rec(kindA, "b", "changed", 2, "kb", "ka"))
	})
	wantErrIs(t, "Update taking another record's key", err, store.ErrConflict)
	checkItem(t, mustGet(t, s, kindA, "b"), kindA, "b", "pb", 1, doc{Name: "b", N: 1})
	wantKey(t, s, kindA, "ka", "a")
	wantKey(t, s, kindA, "kb", "b")
	wantRevision(t, s, 1)

	// Keeping its own key is not a conflict.
	rev := update(t, s, rec(kindA, "b", "pb", 3, "kb"))
	checkItem(t, mustGet(t, s, kindA, "b"), kindA, "b", "pb", rev, doc{Name: "b", N: 3})
	wantKey(t, s, kindA, "kb", "b")
}

func testUpdateReplacesUniqueKeys(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "a", "", 1, "k1", "k2"))
	update(t, s, rec(kindA, "a", "", 2, "k2", "k3"))
	wantKey(t, s, kindA, "k1", "")
	wantKey(t, s, kindA, "k2", "a")
	wantKey(t, s, kindA, "k3", "a")

	// The dropped key is free for another record.
	create(t, s, rec(kindA, "b", "", 1, "k1"))
	wantKey(t, s, kindA, "k1", "b")

	// Updating with no keys drops them all.
	update(t, s, rec(kindA, "a", "", 3))
	wantKey(t, s, kindA, "k2", "")
	wantKey(t, s, kindA, "k3", "")
	create(t, s, rec(kindA, "c", "", 1, "k2", "k3"))
	wantKey(t, s, kindA, "k2", "c")

	// Keys moved between records inside one transaction.
	mustWrite(t, s, func(tx store.Tx) error {
		if err := tx.Update(rec(kindA, "c", "", 2, "k3")); err != nil {
			return err
		}
		return tx.Update(rec(kindA, "a", "", 4, "k2"))
	})
	wantKey(t, s, kindA, "k2", "a")
	wantKey(t, s, kindA, "k3", "c")
}

func testDeleteFreesUniqueKeys(t *testing.T, s store.Store) {
	create(t, s, rec(kindA, "a", "", 1, "k1", "k2"))
	mustWrite(t, s, func(tx store.Tx) error { return tx.Delete(kindA, "a") })
	wantKey(t, s, kindA, "k1", "")
	wantKey(t, s, kindA, "k2", "")
	create(t, s, rec(kindA, "b", "", 1, "k1", "k2"))
	wantKey(t, s, kindA, "k1", "b")
	wantKey(t, s, kindA, "k2", "b")

	// Freed and taken again in the same transaction.
	mustWrite(t, s, func(tx store.Tx) error {
		if err := tx.Delete(kindA, "b"); err != nil {
			return err
		}
		return tx.Create(rec(kindA, "c", "", 1, "k1"))
	})
	wantKey(t, s, kindA, "k1", "c")
	wantKey(t, s, kindA, "k2", "")
}

func testLookup(t *testing.T, s store.Store) {
	create(t, s,
		rec(kindA, "u1", "", 1, "dom1/alice", "alice@example.com"),
		rec(kindA, "u2", "", 1, "dom1/bob"),
	)
	wantKey(t, s, kindA, "dom1/alice", "u1")
	wantKey(t, s, kindA, "alice@example.com", "u1")
	wantKey(t, s, kindA, "dom1/bob", "u2")
	wantKey(t, s, kindA, "dom1/carol", "")
	wantKey(t, s, kindA, "u1", "") // IDs are not keys
	wantKey(t, s, kindB, "dom1/alice", "")

	// Lookup inside a write transaction sees the committed keys and its own.
	mustWrite(t, s, func(tx store.Tx) error {
		if id, err := tx.Lookup(kindA, "dom1/bob"); err != nil || id != "u2" {
			t.Errorf("Tx.Lookup(dom1/bob) = %q, %v; want u2", id, err)
		}
		if err := tx.Create(rec(kindA, "u3", "", 1, "dom1/carol")); err != nil {
			return err
		}
		if id, err := tx.Lookup(kindA, "dom1/carol"); err != nil || id != "u3" {
			t.Errorf("Tx.Lookup(dom1/carol) after Create = %q, %v; want u3", id, err)
		}
		return nil
	})
	wantKey(t, s, kindA, "dom1/carol", "u3")
}

func testListOrderedByIDAndFilteredByRef(t *testing.T, s store.Store) {
	// IDs that sort differently under byte order and under linguistic
	// collations (case, punctuation, spaces). The order the store promises
	// is Go's string order, whatever the database collation.
	type entry struct{ id, ref string }
	entries := []entry{
		{"m", "r1"}, {"B", "r2"}, {"a-b", "r1"}, {"a", "r2"}, {"ab", "r1"},
		{"a_b", "r2"}, {"z", ""}, {"A", "r1"}, {"a b", "r2"}, {"0", "r1"},
		{"Ab", "r2"}, {"é", "r1"},
	}
	var oneTx []store.Record
	for i, e := range entries {
		r := rec(kindA, e.id, e.ref, i)
		if i%3 == 0 {
			create(t, s, r) // some in their own transactions
		} else {
			oneTx = append(oneTx, r)
		}
	}
	create(t, s, oneTx...)
	create(t, s, rec(kindB, "other", "r1", 0))

	var all, r1, r2 []string
	for _, e := range entries {
		all = append(all, e.id)
		switch e.ref {
		case "r1":
			r1 = append(r1, e.id)
		case "r2":
			r2 = append(r2, e.id)
		}
	}
	slices.Sort(all)
	slices.Sort(r1)
	slices.Sort(r2)

	items := list(t, s, kindA, "")
	wantIDs(t, "List", items, all...)
	byID := map[string]int{}
	for i, e := range entries {
		byID[e.id] = i
	}
	for _, it := range items {
		want := entries[byID[it.ID]]
		full := mustGet(t, s, kindA, it.ID)
		checkItem(t, it, kindA, want.id, want.ref, full.Rev, doc{Name: want.id, N: byID[it.ID]})
	}
	wantIDs(t, "List(ref r1)", list(t, s, kindA, "r1"), r1...)
	wantIDs(t, "List(ref r2)", list(t, s, kindA, "r2"), r2...)
	wantIDs(t, "List(ref none)", list(t, s, kindA, "none"))
	wantIDs(t, "List(kindB)", list(t, s, kindB, ""), "other")
	wantIDs(t, "List(unknown kind)", list(t, s, "unknown", ""))
}
