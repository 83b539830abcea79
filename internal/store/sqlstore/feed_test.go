package sqlstore

import (
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/nubo-cloud/nubo/internal/store"
)

// TestRecentFeedMatchesTheTable checks recentFeed against the changes
// table it stands for: commits by this process (in or out of order), by
// other processes (gaps) and compactions in any order; whenever since
// answers, it answers a prefix of what the table holds after that revision.
func TestRecentFeedMatchesTheTable(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var table []store.Change // the database's feed, in order
		var rev, compacted int64
		f := recentFeed{max: rapid.IntRange(1, 40).Draw(t, "max")}
		commit := func(mine bool) {
			prev := rev
			rev++
			n := rapid.IntRange(1, 4).Draw(t, "changes")
			var cs []store.Change
			for i := range n {
				cs = append(cs, store.Change{Rev: rev, Kind: "k", ID: fmt.Sprintf("%d.%d", rev, i), Deleted: i == 2})
			}
			table = append(table, cs...)
			if mine {
				f.add(prev, rev, cs)
			}
		}
		for range rapid.IntRange(1, 200).Draw(t, "steps") {
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0: // another process writes
				commit(false)
			case 1: // compaction
				c := rapid.Int64Range(0, rev).Draw(t, "compact")
				if c > compacted {
					compacted = c
					table = slices.DeleteFunc(table, func(ch store.Change) bool { return ch.Rev <= c })
					f.compact(c)
				}
			case 2: // two of our commits finish out of order
				prev := rev
				commit(false)
				first := slices.Clone(table[len(table)-countRev(table, rev):])
				commit(false)
				second := slices.Clone(table[len(table)-countRev(table, rev):])
				f.add(prev+1, prev+2, second)
				f.add(prev, prev+1, first)
			default:
				commit(true)
			}
			after := rapid.Int64Range(0, rev).Draw(t, "after")
			limit := rapid.IntRange(1, 20).Draw(t, "limit")
			got, ok := f.since(after, limit)
			if !ok {
				continue
			}
			if after < compacted {
				t.Fatalf("since(%d) answered below the compacted revision %d", after, compacted)
			}
			var want []store.Change
			for _, ch := range table {
				if ch.Rev > after {
					want = append(want, ch)
				}
			}
			if len(got) == 0 || len(got) > limit || len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
				t.Fatalf("since(%d, %d) = %v, table has %v", after, limit, got, want)
			}
		}
	})
}

func countRev(cs []store.Change, rev int64) int {
	n := 0
	for _, c := range cs {
		if c.Rev == rev {
			n++
		}
	}
	return n
}
