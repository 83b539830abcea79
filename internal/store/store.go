package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Errors returned by every implementation. Callers classify with errors.Is.
var (
	// ErrNotFound means the record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means the ID or one of the unique keys of a record is
	// already taken by another record of the same kind.
	ErrConflict = errors.New("store: conflict")
	// ErrCompacted means the change feed no longer holds the revision asked for.
	ErrCompacted = errors.New("store: revision compacted")
)

// Record is what a write puts in the store.
type Record struct {
	// Kind is the resource kind, such as "project" or "user".
	Kind string
	// ID identifies the record within its kind.
	ID string
	// Ref is one secondary index (for example a parent or owner ID) that
	// List can filter on. It may be empty.
	Ref string
	// Unique holds keys that must be unique within the kind (for example
	// "domainID/name"). A write whose key is held by another record of the
	// same kind fails with ErrConflict.
	Unique []string
	// Value is stored as JSON.
	Value any
}

// Item is one record as read back from the store.
type Item struct {
	Kind string
	ID   string
	Ref  string
	// Rev is the revision of the write that last changed the record.
	Rev  int64
	Data json.RawMessage
}

// Decode unmarshals the item's JSON into v.
func (it Item) Decode(v any) error {
	if err := json.Unmarshal(it.Data, v); err != nil {
		return fmt.Errorf("decode %s %s: %w", it.Kind, it.ID, err)
	}
	return nil
}

// Change is one entry of the change feed.
type Change struct {
	// Rev is the revision of the write transaction that made the change.
	Rev  int64
	Kind string
	ID   string
	// Deleted is true when the record was removed.
	Deleted bool
}

// ListOptions narrows List.
type ListOptions struct {
	// Ref, when not empty, keeps only records whose Ref equals it.
	Ref string
}

// ReadTx reads a consistent snapshot.
type ReadTx interface {
	// Get returns the record, or ErrNotFound.
	Get(kind, id string) (Item, error)
	// Lookup returns the ID of the record of kind holding unique key, or
	// ErrNotFound.
	Lookup(kind, key string) (string, error)
	// List returns the records of kind ordered by ID.
	List(kind string, opts ListOptions) ([]Item, error)
	// Revision returns the store revision the snapshot was taken at (for a
	// Tx: the revision its writes will carry).
	Revision() int64
}

// Tx is a write transaction. After a method returns an error other than
// ErrNotFound or ErrConflict the closure should return it; the whole
// transaction then rolls back. ErrNotFound and ErrConflict change nothing
// and the transaction may go on.
type Tx interface {
	ReadTx
	// Create adds a new record; ErrConflict if its ID or a unique key is taken.
	Create(r Record) error
	// Update replaces an existing record; ErrNotFound if absent,
	// ErrConflict if a new unique key is taken by another record.
	Update(r Record) error
	// Delete removes a record and its unique keys; ErrNotFound if absent.
	Delete(kind, id string) error
}

// Store is a transactional record store with a change feed.
type Store interface {
	// Read runs fn in a read-only snapshot.
	Read(ctx context.Context, fn func(ReadTx) error) error
	// Write runs fn in a write transaction. If fn returns an error nothing
	// is written. A transaction that wrote nothing does not bump the
	// revision. Write transactions are serialised: revisions commit in order,
	// so the feed has no gaps.
	Write(ctx context.Context, fn func(Tx) error) error
	// Revision returns the latest committed revision (0 for an empty store).
	Revision(ctx context.Context) (int64, error)
	// Changes returns up to limit changes with Rev > after, oldest first;
	// ErrCompacted if changes after that revision were compacted away.
	Changes(ctx context.Context, after int64, limit int) ([]Change, error)
	// Wait blocks until the store revision exceeds after or ctx ends, and
	// returns the latest revision.
	Wait(ctx context.Context, after int64) (int64, error)
	// Compact drops change-feed entries with Rev <= rev.
	Compact(ctx context.Context, rev int64) error
	// Close releases the store.
	Close() error
}

// Get reads a record of kind and decodes it into a new T.
func Get[T any](tx ReadTx, kind, id string) (*T, error) {
	it, err := tx.Get(kind, id)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := it.Decode(v); err != nil {
		return nil, err
	}
	return v, nil
}

// List reads the records of kind and decodes each into a T.
func List[T any](tx ReadTx, kind string, opts ListOptions) ([]T, error) {
	items, err := tx.List(kind, opts)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		var v T
		if err := it.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
