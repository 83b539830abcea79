package sqlstore

import (
	"sort"
	"sync"

	"github.com/nubo-cloud/nubo/internal/store"
)

// feedCap bounds how many recent changes a Store keeps in memory.
const feedCap = 16384

// recentFeed holds the latest changes this process committed, so that the
// many followers of the change feed in one process (reconcilers, agents'
// long polls) read them from memory instead of each querying the changes
// table. It covers the revisions (start, end] without a gap: a commit
// whose transaction did not start at end (another process wrote in
// between, or commits finished out of order) starts it afresh. Changes
// after end, if any, are only in the database.
type recentFeed struct {
	mu         sync.Mutex
	start, end int64
	changes    []store.Change // every change with start < Rev <= end, in feed order
	max        int            // how many changes to keep at most (0: feedCap)
}

// add records the changes of a transaction that read revision prev and
// committed revision rev.
func (f *recentFeed) add(prev, rev int64, changes []store.Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if prev != f.end {
		f.start, f.changes = prev, f.changes[:0]
	}
	f.changes = append(f.changes, changes...)
	f.end = rev
	limit := f.max
	if limit == 0 {
		limit = feedCap
	}
	if over := len(f.changes) - limit; over > 0 {
		// Drop whole revisions from the front.
		cut := over
		for cut < len(f.changes) && f.changes[cut].Rev == f.changes[cut-1].Rev {
			cut++
		}
		f.start = f.changes[cut-1].Rev
		f.changes = append(f.changes[:0], f.changes[cut:]...)
	}
}

// since returns up to limit changes after revision after, and false when
// it cannot tell them (after is outside [start, end)).
func (f *recentFeed) since(after int64, limit int) ([]store.Change, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if after < f.start || after >= f.end {
		return nil, false
	}
	i := sort.Search(len(f.changes), func(i int) bool { return f.changes[i].Rev > after })
	n := min(limit, len(f.changes)-i)
	return append([]store.Change(nil), f.changes[i:i+n]...), true
}

// compact forgets the changes up to rev, as Compact drops them from the
// database: asked for after a compacted revision, Changes must say so.
func (f *recentFeed) compact(rev int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rev <= f.start {
		return
	}
	if rev >= f.end {
		f.start, f.end, f.changes = rev, rev, f.changes[:0]
		return
	}
	i := sort.Search(len(f.changes), func(i int) bool { return f.changes[i].Rev > rev })
	f.start = rev
	f.changes = append(f.changes[:0], f.changes[i:]...)
}
