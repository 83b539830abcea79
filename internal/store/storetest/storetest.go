package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/nubo-cloud/nubo/internal/store"
)

// Run runs the contract suite against stores made by newStore.
//
// Every subtest calls newStore for a fresh, empty store and closes it when the
// subtest ends. Run registers Close with t.Cleanup after newStore returns, so
// cleanups that newStore registers itself (removing a temporary directory,
// dropping a schema) run after the store is closed. newStore should fail the
// test (t.Fatal) if it cannot make a store.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			c.fn(t, s)
		})
	}
}

var cases = []struct {
	name string
	fn   func(*testing.T, store.Store)
}{
	// Records.
	{"EmptyStore", testEmptyStore},
	{"CreateGetRoundTrip", testCreateGetRoundTrip},
	{"UpdateReplacesRecord", testUpdateReplacesRecord},
	{"DeleteRemovesRecord", testDeleteRemovesRecord},
	{"NotFoundOnAbsentRecords", testNotFoundOnAbsentRecords},
	{"KindsAreSeparate", testKindsAreSeparate},
	{"CreateDuplicateIDConflicts", testCreateDuplicateIDConflicts},
	{"CreateDuplicateUniqueKeyConflicts", testCreateDuplicateUniqueKeyConflicts},
	{"UpdateTakenUniqueKeyConflicts", testUpdateTakenUniqueKeyConflicts},
	{"UpdateReplacesUniqueKeys", testUpdateReplacesUniqueKeys},
	{"DeleteFreesUniqueKeys", testDeleteFreesUniqueKeys},
	{"Lookup", testLookup},
	{"ListOrderedByIDAndFilteredByRef", testListOrderedByIDAndFilteredByRef},

	// Transactions and revisions.
	{"WriteErrorRollsBackEverything", testWriteErrorRollsBackEverything},
	{"WritePanicRollsBack", testWritePanicRollsBack},
	{"WriteWithoutChangesKeepsRevision", testWriteWithoutChangesKeepsRevision},
	{"EachWriteBumpsRevisionByOne", testEachWriteBumpsRevisionByOne},
	{"TxSeesItsOwnWrites", testTxSeesItsOwnWrites},
	{"TxUsableAfterNotFoundAndConflict", testTxUsableAfterNotFoundAndConflict},
	{"ReadSeesConsistentSnapshot", testReadSeesConsistentSnapshot},
	{"ReadReturnsClosureError", testReadReturnsClosureError},

	// Change feed.
	{"ChangesAfterRevisionInOrder", testChangesAfterRevisionInOrder},
	{"CompactDropsOldChanges", testCompactDropsOldChanges},
	{"WaitReturnsOnWrite", testWaitReturnsOnWrite},
	{"WaitReturnsOnContextEnd", testWaitReturnsOnContextEnd},

	// Concurrency.
	{"ConcurrentIncrementsAreSerialised", testConcurrentIncrementsAreSerialised},
	{"ConcurrentCreatesOneWins", testConcurrentCreatesOneWins},
	{"ChangesConsistentWithConcurrentCompact", testChangesConsistentWithConcurrentCompact},
}

// Kinds used by the suite.
const (
	kindA = "widget"
	kindB = "gadget"
)

var errBoom = errors.New("storetest: boom")

// doc is the value stored by the suite.
type doc struct {
	Name string   `json:"name"`
	N    int      `json:"n"`
	Tags []string `json:"tags,omitempty"`
}

func rec(kind, id, ref string, n int, unique ...string) store.Record {
	return store.Record{Kind: kind, ID: id, Ref: ref, Unique: unique, Value: doc{Name: id, N: n}}
}

// mustWrite runs fn in a write transaction and returns the store revision
// after it.
func mustWrite(t *testing.T, s store.Store, fn func(store.Tx) error) int64 {
	t.Helper()
	if err := s.Write(t.Context(), fn); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return revision(t, s)
}

// create writes the records in one transaction and returns the new revision.
func create(t *testing.T, s store.Store, recs ...store.Record) int64 {
	t.Helper()
	return mustWrite(t, s, func(tx store.Tx) error {
		for _, r := range recs {
			if err := tx.Create(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// update writes the records in one transaction and returns the new revision.
func update(t *testing.T, s store.Store, recs ...store.Record) int64 {
	t.Helper()
	return mustWrite(t, s, func(tx store.Tx) error {
		for _, r := range recs {
			if err := tx.Update(r); err != nil {
				return err
			}
		}
		return nil
	})
}

func mustRead(t *testing.T, s store.Store, fn func(store.ReadTx) error) {
	t.Helper()
	if err := s.Read(t.Context(), fn); err != nil {
		t.Fatalf("Read: %v", err)
	}
}

func revision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(t.Context())
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	return rev
}

func wantRevision(t *testing.T, s store.Store, want int64) {
	t.Helper()
	if got := revision(t, s); got != want {
		t.Fatalf("Revision() = %d, want %d", got, want)
	}
}

func getItem(t *testing.T, s store.Store, kind, id string) (store.Item, error) {
	t.Helper()
	var it store.Item
	var getErr error
	mustRead(t, s, func(tx store.ReadTx) error {
		it, getErr = tx.Get(kind, id)
		return nil
	})
	return it, getErr
}

func mustGet(t *testing.T, s store.Store, kind, id string) store.Item {
	t.Helper()
	it, err := getItem(t, s, kind, id)
	if err != nil {
		t.Fatalf("Get(%q, %q): %v", kind, id, err)
	}
	return it
}

func wantAbsent(t *testing.T, s store.Store, kind, id string) {
	t.Helper()
	if it, err := getItem(t, s, kind, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q, %q) = %+v, %v; want ErrNotFound", kind, id, it, err)
	}
}

func decode(t *testing.T, it store.Item) doc {
	t.Helper()
	var d doc
	if err := it.Decode(&d); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return d
}

// checkItem compares everything an Item carries.
func checkItem(t *testing.T, it store.Item, kind, id, ref string, rev int64, want doc) {
	t.Helper()
	if it.Kind != kind || it.ID != id || it.Ref != ref || it.Rev != rev {
		t.Errorf("item = {Kind:%q ID:%q Ref:%q Rev:%d}, want {Kind:%q ID:%q Ref:%q Rev:%d}",
			it.Kind, it.ID, it.Ref, it.Rev, kind, id, ref, rev)
	}
	if got := decode(t, it); !reflect.DeepEqual(got, want) {
		t.Errorf("item %s/%s value = %+v, want %+v (data %s)", kind, id, got, want, it.Data)
	}
}

func lookup(t *testing.T, s store.Store, kind, key string) (string, error) {
	t.Helper()
	var id string
	var lookupErr error
	mustRead(t, s, func(tx store.ReadTx) error {
		id, lookupErr = tx.Lookup(kind, key)
		return nil
	})
	return id, lookupErr
}

// wantKey checks that key of kind is held by id, or by nobody when id is "".
func wantKey(t *testing.T, s store.Store, kind, key, id string) {
	t.Helper()
	got, err := lookup(t, s, kind, key)
	if id == "" {
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Lookup(%q, %q) = %q, %v; want ErrNotFound", kind, key, got, err)
		}
		return
	}
	if err != nil || got != id {
		t.Fatalf("Lookup(%q, %q) = %q, %v; want %q", kind, key, got, err, id)
	}
}

func list(t *testing.T, s store.Store, kind, ref string) []store.Item {
	t.Helper()
	var items []store.Item
	mustRead(t, s, func(tx store.ReadTx) error {
		var err error
		items, err = tx.List(kind, store.ListOptions{Ref: ref})
		return err
	})
	return items
}

func ids(items []store.Item) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func wantIDs(t *testing.T, what string, items []store.Item, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := ids(items); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s IDs = %q, want %q", what, got, want)
	}
}

// changes reads the change feed after rev with a limit large enough to hold
// everything the suite writes.
func changes(t *testing.T, s store.Store, after int64) []store.Change {
	t.Helper()
	ch, err := s.Changes(t.Context(), after, 10000)
	if err != nil {
		t.Fatalf("Changes(%d): %v", after, err)
	}
	return ch
}

func wantChanges(t *testing.T, got []store.Change, want ...store.Change) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("changes =\n\t%+v\nwant\n\t%+v", got, want)
	}
}

// wantErrIs fails unless err matches target.
func wantErrIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error = %v, want %v", what, err, target)
	}
}

// waitResult is what a Wait call in a goroutine reports.
type waitResult struct {
	rev int64
	err error
}

func goWait(ctx context.Context, s store.Store, after int64) <-chan waitResult {
	ch := make(chan waitResult, 1)
	go func() {
		rev, err := s.Wait(ctx, after)
		ch <- waitResult{rev, err}
	}()
	return ch
}
