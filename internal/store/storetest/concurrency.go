package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/store"
)

// testConcurrentIncrementsAreSerialised runs read-modify-write increments
// from many goroutines. Every transaction updates two records to the same
// value, so concurrent readers can check that snapshots are atomic, and a
// follower tails the change feed while it is written to check that it never
// sees a gap.
func testConcurrentIncrementsAreSerialised(t *testing.T, s store.Store) {
	const workers, perWorker = 8, 50
	const final = workers*perWorker + 1 // one create, then one revision per increment
	create(t, s, rec(kindA, "counter", "", 0), rec(kindA, "mirror", "", 0))

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var writers, others sync.WaitGroup
	writing := make(chan struct{})

	for w := range workers {
		writers.Go(func() {
			for i := range perWorker {
				err := s.Write(ctx, func(tx store.Tx) error {
					it, err := tx.Get(kindA, "counter")
					if err != nil {
						return err
					}
					var d doc
					if err := it.Decode(&d); err != nil {
						return err
					}
					d.N++
					if err := tx.Update(store.Record{Kind: kindA, ID: "counter", Value: d}); err != nil {
						return err
					}
					return tx.Update(store.Record{Kind: kindA, ID: "mirror", Value: doc{Name: "mirror", N: d.N}})
				})
				if err != nil {
					t.Errorf("worker %d increment %d: %v", w, i, err)
					return
				}
			}
		})
	}

	// Readers: both records always agree, and carry the snapshot's revision.
	var reads atomic.Int64
	for range 2 {
		others.Go(func() {
			for {
				select {
				case <-writing:
					return
				default:
				}
				err := s.Read(ctx, func(tx store.ReadTx) error {
					c, err := tx.Get(kindA, "counter")
					if err != nil {
						return err
					}
					m, err := tx.Get(kindA, "mirror")
					if err != nil {
						return err
					}
					cn, mn := decodeN(c), decodeN(m)
					if cn != mn || c.Rev != m.Rev || c.Rev != tx.Revision() {
						return fmt.Errorf("torn snapshot: counter n=%d rev=%d, mirror n=%d rev=%d, snapshot rev %d",
							cn, c.Rev, mn, m.Rev, tx.Revision())
					}
					if int64(cn) != c.Rev-1 {
						return fmt.Errorf("counter n=%d at rev %d: an increment was lost", cn, c.Rev)
					}
					return nil
				})
				if err != nil {
					t.Errorf("reader: %v", err)
					return
				}
				reads.Add(1)
			}
		})
	}

	// Follower: tails the feed; revisions must appear in order with no gap.
	others.Go(func() {
		var after int64
		for after < final {
			got, err := s.Changes(ctx, after, 1000)
			if err != nil {
				t.Errorf("follower: Changes(%d): %v", after, err)
				return
			}
			if len(got) == 0 {
				if _, err := s.Wait(ctx, after); err != nil {
					t.Errorf("follower: Wait(%d): %v", after, err)
					return
				}
				continue
			}
			if n := len(got); n%2 != 0 {
				t.Errorf("follower: %d changes, want whole transactions of 2", n)
				return
			}
			for i, c := range got {
				want := after + 1 + int64(i/2)
				if c.Rev != want {
					t.Errorf("follower: after %d got change %d with rev %d, want %d (gap or reorder)", after, i, c.Rev, want)
					return
				}
			}
			after = got[len(got)-1].Rev
		}
	})

	writers.Wait()
	close(writing)
	others.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d increments, %d concurrent reads", workers*perWorker, reads.Load())

	wantRevision(t, s, final)
	for _, id := range []string{"counter", "mirror"} {
		checkItem(t, mustGet(t, s, kindA, id), kindA, id, "", final, doc{Name: id, N: workers * perWorker})
	}
	// Revisions 1..final each present, with exactly the two changes of
	// their transaction.
	all := changes(t, s, 0)
	if len(all) != 2*final {
		t.Fatalf("feed holds %d changes, want %d", len(all), 2*final)
	}
	for i, c := range all {
		if want := int64(i/2 + 1); c.Rev != want {
			t.Fatalf("change %d has rev %d, want %d", i, c.Rev, want)
		}
	}
}

func decodeN(it store.Item) int {
	var d doc
	if err := it.Decode(&d); err != nil {
		return -1
	}
	return d.N
}

// testConcurrentCreatesOneWins races Creates of one unique key under
// different IDs, and of one ID: exactly one of each wins.
func testConcurrentCreatesOneWins(t *testing.T, s store.Store) {
	const racers = 8
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	race := func(what string, mk func(i int) store.Record) (winner int) {
		t.Helper()
		start := make(chan struct{})
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				<-start
				errs[i] = s.Write(ctx, func(tx store.Tx) error { return tx.Create(mk(i)) })
			})
		}
		close(start)
		wg.Wait()
		winner = -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("%s: racers %d and %d both won", what, winner, i)
				}
				winner = i
			case errors.Is(err, store.ErrConflict):
			default:
				t.Fatalf("%s: racer %d: %v, want nil or ErrConflict", what, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("%s: nobody won", what)
		}
		return winner
	}

	keyWinner := fmt.Sprintf("r%d", race("same unique key", func(i int) store.Record {
		return rec(kindA, fmt.Sprintf("r%d", i), "", i, "the-key")
	}))
	wantIDs(t, "List after key race", list(t, s, kindA, ""), keyWinner)
	wantKey(t, s, kindA, "the-key", keyWinner)

	w := race("same ID", func(i int) store.Record {
		return rec(kindB, "same", "", i, fmt.Sprintf("key-%d", i))
	})
	checkItem(t, mustGet(t, s, kindB, "same"), kindB, "same", "", 2, doc{Name: "same", N: w})
	for i := range racers {
		holder := ""
		if i == w {
			holder = "same"
		}
		wantKey(t, s, kindB, fmt.Sprintf("key-%d", i), holder)
	}

	// Only the winners wrote: two revisions, no gaps.
	wantRevision(t, s, 2)
	wantChanges(t, changes(t, s, 0),
		store.Change{Rev: 1, Kind: kindA, ID: keyWinner},
		store.Change{Rev: 2, Kind: kindB, ID: "same"})
}

// testChangesConsistentWithConcurrentCompact reads the feed while another
// goroutine writes and a third compacts right behind it. A Changes call must
// either report ErrCompacted or return the changes right after the asked
// revision: never a feed with the oldest entries silently missing.
func testChangesConsistentWithConcurrentCompact(t *testing.T, s store.Store) {
	const writes = 150
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	done := make(chan struct{})

	wg.Go(func() {
		defer close(done)
		for i := range writes {
			if err := s.Write(ctx, func(tx store.Tx) error {
				return tx.Create(rec(kindA, fmt.Sprintf("w%04d", i), "", i))
			}); err != nil {
				t.Errorf("write %d: %v", i, err)
				return
			}
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			rev, err := s.Revision(ctx)
			if err == nil {
				err = s.Compact(ctx, rev-1)
			}
			if err != nil {
				t.Errorf("compactor: %v", err)
				return
			}
		}
	})
	var checked, compacted atomic.Int64
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				rev, err := s.Revision(ctx)
				if err != nil {
					t.Errorf("reader: %v", err)
					return
				}
				after := max(rev-2, 0)
				got, err := s.Changes(ctx, after, 1000)
				if errors.Is(err, store.ErrCompacted) {
					compacted.Add(1)
					continue
				}
				if err != nil {
					t.Errorf("reader: Changes(%d): %v", after, err)
					return
				}
				checked.Add(1)
				// Every revision up to rev was committed before the call,
				// and every write transaction has exactly one change.
				if rev > after && (len(got) == 0 || got[0].Rev != after+1) {
					first := int64(-1)
					if len(got) > 0 {
						first = got[0].Rev
					}
					t.Errorf("reader: revision was %d, Changes(%d) returned %d changes starting at rev %d without ErrCompacted",
						rev, after, len(got), first)
					return
				}
				for i, c := range got {
					if c.Rev != after+1+int64(i) {
						t.Errorf("reader: Changes(%d) change %d has rev %d", after, i, c.Rev)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d feed reads checked, %d reported ErrCompacted", checked.Load(), compacted.Load())
}
