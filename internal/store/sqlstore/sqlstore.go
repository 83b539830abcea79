package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nubo-cloud/nubo/internal/store"
)

// Dialect is what differs between SQL engines.
type Dialect struct {
	// Name is used in error messages.
	Name string
	// Dollar placeholders ($1, $2 …) instead of ?.
	Dollar bool
	// LockWrites is run first in a write transaction to serialise writers
	// (PostgreSQL: SELECT … FOR UPDATE). Empty when the connection setup
	// already serialises them (SQLite: BEGIN IMMEDIATE on one connection).
	LockWrites string
	// ReadOpts are the options of read-only transactions.
	ReadOpts *sql.TxOptions
	// Retryable reports whether a failed transaction may be run again
	// (serialisation failures, deadlocks, busy database).
	Retryable func(error) bool
	// PollInterval bounds how long Wait sleeps before re-reading the revision,
	// for writes made by other processes sharing the database.
	PollInterval time.Duration
	// RefIndexHint follows "FROM records" in a List by Ref. SQLite's planner,
	// without statistics, scans the whole kind by primary key instead of
	// using records_ref; "INDEXED BY records_ref" makes it use the index.
	RefIndexHint string
}

// Store implements store.Store.
type Store struct {
	d      Dialect
	writer *sql.DB
	reader *sql.DB

	mu     sync.Mutex
	notify chan struct{} // closed and replaced after every committed write

	// stmts holds the prepared statements of transactions' queries per
	// pool (read-only after New): preparing (parsing) each statement anew
	// cost as much as running it.
	stmts map[stmtKey]*sql.Stmt

	closers []func() error

	// writeMu orders commits within this process, so that recent sees
	// them in revision order.
	writeMu sync.Mutex
	recent  recentFeed
}

var _ store.Store = (*Store)(nil)

// New returns a Store over writer (used for write transactions) and reader
// (used for read transactions; may be the same pool); Close runs closers
// first, before it closes the pools.
func New(d Dialect, writer, reader *sql.DB, closers ...func() error) *Store {
	if d.PollInterval == 0 {
		d.PollInterval = time.Second
	}
	if d.Retryable == nil {
		d.Retryable = func(error) bool { return false }
	}
	s := &Store{d: d, writer: writer, reader: reader, notify: make(chan struct{}), closers: closers}
	s.prepare()
	return s
}

type stmtKey struct {
	db    *sql.DB
	query string
}

// txQueries are the statements transactions run, prepared by New.
var txQueries = []string{
	"SELECT revision FROM nubo_meta WHERE id = 1",
	"SELECT ref, rev, data FROM records WHERE kind = ? AND id = ?",
	"SELECT id FROM record_keys WHERE kind = ? AND key = ?",
	"SELECT id, ref, rev, data FROM records WHERE kind = ? ORDER BY id",
	"INSERT INTO records (kind, id, ref, rev, data) VALUES (?, ?, ?, ?, ?)",
	"UPDATE records SET ref = ?, rev = ?, data = ? WHERE kind = ? AND id = ?",
	"DELETE FROM records WHERE kind = ? AND id = ?",
	"DELETE FROM record_keys WHERE kind = ? AND id = ?",
	"INSERT INTO record_keys (kind, key, id) VALUES (?, ?, ?)",
	"INSERT INTO changes (rev, seq, kind, id, deleted) VALUES (?, ?, ?, ?, ?)",
}

// refListQuery lists a kind's records by Ref.
func (s *Store) refListQuery() string {
	return "SELECT id, ref, rev, data FROM records " + s.d.RefIndexHint + " WHERE kind = ? AND ref = ? ORDER BY id"
}

// prepare prepares the transactions' statements on both pools, before any
// transaction holds a connection (a pool of one connection could not lend
// one later). A statement that fails to prepare is run unprepared.
func (s *Store) prepare() {
	s.stmts = map[stmtKey]*sql.Stmt{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, db := range []*sql.DB{s.writer, s.reader} {
		for _, q := range append(slices.Clone(txQueries), s.refListQuery()) {
			k := stmtKey{db, s.q(q)}
			if _, ok := s.stmts[k]; ok {
				continue
			}
			if st, err := db.PrepareContext(ctx, k.query); err == nil {
				s.stmts[k] = st
			}
		}
	}
}

// prepared returns query prepared on db, or nil.
func (s *Store) prepared(db *sql.DB, query string) *sql.Stmt {
	return s.stmts[stmtKey{db, query}]
}

// DB returns the writer pool, for migrations and tests.
func (s *Store) DB() *sql.DB { return s.writer }

// q rewrites ? placeholders for the dialect.
func (s *Store) q(query string) string {
	if !s.d.Dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Close closes both pools.
func (s *Store) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c())
	}
	for _, st := range s.stmts {
		errs = append(errs, st.Close())
	}
	if s.reader != s.writer {
		errs = append(errs, s.reader.Close())
	}
	errs = append(errs, s.writer.Close())
	return errors.Join(errs...)
}

// Revision returns the latest committed revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.reader.QueryRowContext(ctx, s.q("SELECT revision FROM nubo_meta WHERE id = 1")).Scan(&rev); err != nil {
		return 0, fmt.Errorf("%s: read revision: %w", s.d.Name, err)
	}
	return rev, nil
}

// Read runs fn in a read-only snapshot.
func (s *Store) Read(ctx context.Context, fn func(store.ReadTx) error) error {
	sqlTx, err := s.reader.BeginTx(ctx, s.d.ReadOpts)
	if err != nil {
		return fmt.Errorf("%s: begin read: %w", s.d.Name, err)
	}
	defer sqlTx.Rollback() //nolint:errcheck // read-only; rollback after commit is a no-op
	t := &tx{s: s, ctx: ctx, tx: sqlTx, db: s.reader, rev: -1}
	if err := fn(t); err != nil {
		return err
	}
	return sqlTx.Commit()
}

// Write runs fn in a serialised write transaction, retrying it when the
// engine reports a retryable conflict.
func (s *Store) Write(ctx context.Context, fn func(store.Tx) error) error {
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		var wrote bool
		wrote, err = s.writeOnce(ctx, fn)
		if err == nil {
			if wrote {
				s.mu.Lock()
				close(s.notify)
				s.notify = make(chan struct{})
				s.mu.Unlock()
			}
			return nil
		}
		if !s.d.Retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return err
}

func (s *Store) writeOnce(ctx context.Context, fn func(store.Tx) error) (wrote bool, err error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("%s: begin write: %w", s.d.Name, err)
	}
	// Deferred unconditionally so that a panicking fn also releases the
	// transaction (and with it the writer connection or lock); after Commit
	// it is a no-op.
	defer sqlTx.Rollback() //nolint:errcheck // the error that caused the rollback is returned
	if s.d.LockWrites != "" {
		if _, err := sqlTx.ExecContext(ctx, s.q(s.d.LockWrites)); err != nil {
			return false, fmt.Errorf("%s: lock writes: %w", s.d.Name, err)
		}
	}
	var cur int64
	if err := sqlTx.QueryRowContext(ctx, s.q("SELECT revision FROM nubo_meta WHERE id = 1")).Scan(&cur); err != nil {
		return false, fmt.Errorf("%s: read revision: %w", s.d.Name, err)
	}
	t := &tx{s: s, ctx: ctx, tx: sqlTx, db: s.writer, rev: cur + 1, write: true}
	if err := fn(t); err != nil {
		return false, err
	}
	if t.seq > 0 {
		if _, err := sqlTx.ExecContext(ctx, s.q("UPDATE nubo_meta SET revision = ? WHERE id = 1"), t.rev); err != nil {
			return false, fmt.Errorf("%s: bump revision: %w", s.d.Name, err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return false, fmt.Errorf("%s: commit: %w", s.d.Name, err)
	}
	if t.seq > 0 {
		s.recent.add(cur, t.rev, t.changes)
	}
	return t.seq > 0, nil
}

// Changes returns up to limit changes after the given revision.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		limit = 1000
	}
	if cs, ok := s.recent.since(after, limit); ok {
		return cs, nil
	}
	// One snapshot for both reads: otherwise a Compact between them could
	// drop the oldest changes asked for without ErrCompacted being reported.
	sqlTx, err := s.reader.BeginTx(ctx, s.d.ReadOpts)
	if err != nil {
		return nil, fmt.Errorf("%s: begin read: %w", s.d.Name, err)
	}
	defer sqlTx.Rollback() //nolint:errcheck // read-only
	var compacted int64
	if err := sqlTx.QueryRowContext(ctx, s.q("SELECT compacted FROM nubo_meta WHERE id = 1")).Scan(&compacted); err != nil {
		return nil, fmt.Errorf("%s: read compacted: %w", s.d.Name, err)
	}
	if after < compacted {
		return nil, store.ErrCompacted
	}
	rows, err := sqlTx.QueryContext(ctx, s.q("SELECT rev, kind, id, deleted FROM changes WHERE rev > ? ORDER BY rev, seq LIMIT ?"), after, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: read changes: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		var c store.Change
		if err := rows.Scan(&c.Rev, &c.Kind, &c.ID, &c.Deleted); err != nil {
			return nil, fmt.Errorf("%s: scan change: %w", s.d.Name, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Wait blocks until the revision exceeds after.
func (s *Store) Wait(ctx context.Context, after int64) (int64, error) {
	for {
		s.mu.Lock()
		ch := s.notify
		s.mu.Unlock()
		rev, err := s.Revision(ctx)
		if err != nil {
			return 0, err
		}
		if rev > after {
			return rev, nil
		}
		t := time.NewTimer(s.d.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return rev, ctx.Err()
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

// Compact drops change-feed entries up to rev.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin compact: %w", s.d.Name, err)
	}
	defer sqlTx.Rollback() //nolint:errcheck // no-op after commit
	if s.d.LockWrites != "" {
		if _, err := sqlTx.ExecContext(ctx, s.q(s.d.LockWrites)); err != nil {
			return fmt.Errorf("%s: lock writes: %w", s.d.Name, err)
		}
	}
	var cur, compacted int64
	if err := sqlTx.QueryRowContext(ctx, s.q("SELECT revision, compacted FROM nubo_meta WHERE id = 1")).Scan(&cur, &compacted); err != nil {
		return fmt.Errorf("%s: read revision: %w", s.d.Name, err)
	}
	if rev > cur {
		rev = cur
	}
	if rev <= compacted {
		return nil
	}
	if _, err := sqlTx.ExecContext(ctx, s.q("DELETE FROM changes WHERE rev <= ?"), rev); err != nil {
		return fmt.Errorf("%s: compact: %w", s.d.Name, err)
	}
	if _, err := sqlTx.ExecContext(ctx, s.q("UPDATE nubo_meta SET compacted = ? WHERE id = 1"), rev); err != nil {
		return fmt.Errorf("%s: compact: %w", s.d.Name, err)
	}
	if err := sqlTx.Commit(); err != nil {
		return err
	}
	s.recent.compact(rev)
	return nil
}

type tx struct {
	s     *Store
	ctx   context.Context
	tx    *sql.Tx
	db    *sql.DB // the pool tx runs on
	rev   int64
	seq   int
	write bool
	// changes are the feed entries this transaction wrote, in seq order.
	changes []store.Change
}

// stmt returns query prepared for use in t (once per pool connection: the
// pool's statement is prepared again on each connection it is used on), or
// nil if it is not among the prepared ones.
func (t *tx) stmt(query string) *sql.Stmt {
	st := t.s.prepared(t.db, t.s.q(query))
	if st == nil {
		return nil
	}
	return t.tx.StmtContext(t.ctx, st)
}

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	if st := t.stmt(query); st != nil {
		return st.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, t.s.q(query), args...)
}

func (t *tx) queryRow(query string, args ...any) *sql.Row {
	if st := t.stmt(query); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, t.s.q(query), args...)
}

func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(query); st != nil {
		return st.QueryContext(t.ctx, args...)
	}
	return t.tx.QueryContext(t.ctx, t.s.q(query), args...)
}

func (t *tx) Revision() int64 {
	if t.rev < 0 {
		if err := t.queryRow("SELECT revision FROM nubo_meta WHERE id = 1").Scan(&t.rev); err != nil {
			return 0
		}
	}
	return t.rev
}

func (t *tx) Get(kind, id string) (store.Item, error) {
	it := store.Item{Kind: kind, ID: id}
	var data string
	err := t.queryRow("SELECT ref, rev, data FROM records WHERE kind = ? AND id = ?", kind, id).Scan(&it.Ref, &it.Rev, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return it, store.ErrNotFound
	}
	if err != nil {
		return it, fmt.Errorf("%s: get %s %s: %w", t.s.d.Name, kind, id, err)
	}
	it.Data = json.RawMessage(data)
	return it, nil
}

func (t *tx) Lookup(kind, key string) (string, error) {
	var id string
	err := t.queryRow("SELECT id FROM record_keys WHERE kind = ? AND key = ?", kind, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("%s: lookup %s %q: %w", t.s.d.Name, kind, key, err)
	}
	return id, nil
}

func (t *tx) List(kind string, opts store.ListOptions) ([]store.Item, error) {
	var rows *sql.Rows
	var err error
	if opts.Ref != "" {
		rows, err = t.query(t.s.refListQuery(), kind, opts.Ref)
	} else {
		rows, err = t.query("SELECT id, ref, rev, data FROM records WHERE kind = ? ORDER BY id", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: list %s: %w", t.s.d.Name, kind, err)
	}
	defer rows.Close()
	var out []store.Item
	for rows.Next() {
		it := store.Item{Kind: kind}
		var data string
		if err := rows.Scan(&it.ID, &it.Ref, &it.Rev, &data); err != nil {
			return nil, fmt.Errorf("%s: scan %s: %w", t.s.d.Name, kind, err)
		}
		it.Data = json.RawMessage(data)
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// ORDER BY follows the database collation, which on PostgreSQL is often
	// linguistic (en_US: "a" < "B" < "b"); order by bytes as SQLite does, so
	// every engine lists in the same order.
	slices.SortFunc(out, func(a, b store.Item) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// keysFree reports ErrConflict if any key is held by a record other than id.
func (t *tx) keysFree(kind, id string, keys []string) error {
	for _, k := range keys {
		holder, err := t.Lookup(kind, k)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if holder != id {
			return fmt.Errorf("%s %q: %w", kind, k, store.ErrConflict)
		}
	}
	return nil
}

func (t *tx) change(kind, id string, deleted bool) error {
	t.seq++
	_, err := t.exec("INSERT INTO changes (rev, seq, kind, id, deleted) VALUES (?, ?, ?, ?, ?)", t.rev, t.seq, kind, id, deleted)
	if err != nil {
		return fmt.Errorf("%s: append change: %w", t.s.d.Name, err)
	}
	t.changes = append(t.changes, store.Change{Rev: t.rev, Kind: kind, ID: id, Deleted: deleted})
	return nil
}

func (t *tx) putKeys(kind, id string, keys []string) error {
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		if _, err := t.exec("INSERT INTO record_keys (kind, key, id) VALUES (?, ?, ?)", kind, k, id); err != nil {
			return fmt.Errorf("%s: put key %s %q: %w", t.s.d.Name, kind, k, err)
		}
	}
	return nil
}

func (t *tx) Create(r store.Record) error {
	if r.Kind == "" || r.ID == "" {
		return fmt.Errorf("store: create needs a kind and an id")
	}
	data, err := json.Marshal(r.Value)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", r.Kind, r.ID, err)
	}
	if _, err := t.Get(r.Kind, r.ID); err == nil {
		return fmt.Errorf("%s %s: %w", r.Kind, r.ID, store.ErrConflict)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := t.keysFree(r.Kind, r.ID, r.Unique); err != nil {
		return err
	}
	if _, err := t.exec("INSERT INTO records (kind, id, ref, rev, data) VALUES (?, ?, ?, ?, ?)", r.Kind, r.ID, r.Ref, t.rev, string(data)); err != nil {
		return fmt.Errorf("%s: insert %s %s: %w", t.s.d.Name, r.Kind, r.ID, err)
	}
	if err := t.putKeys(r.Kind, r.ID, r.Unique); err != nil {
		return err
	}
	return t.change(r.Kind, r.ID, false)
}

func (t *tx) Update(r store.Record) error {
	data, err := json.Marshal(r.Value)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", r.Kind, r.ID, err)
	}
	if _, err := t.Get(r.Kind, r.ID); err != nil {
		return err
	}
	if err := t.keysFree(r.Kind, r.ID, r.Unique); err != nil {
		return err
	}
	if _, err := t.exec("UPDATE records SET ref = ?, rev = ?, data = ? WHERE kind = ? AND id = ?", r.Ref, t.rev, string(data), r.Kind, r.ID); err != nil {
		return fmt.Errorf("%s: update %s %s: %w", t.s.d.Name, r.Kind, r.ID, err)
	}
	if _, err := t.exec("DELETE FROM record_keys WHERE kind = ? AND id = ?", r.Kind, r.ID); err != nil {
		return fmt.Errorf("%s: drop keys %s %s: %w", t.s.d.Name, r.Kind, r.ID, err)
	}
	if err := t.putKeys(r.Kind, r.ID, r.Unique); err != nil {
		return err
	}
	return t.change(r.Kind, r.ID, false)
}

func (t *tx) Delete(kind, id string) error {
	res, err := t.exec("DELETE FROM records WHERE kind = ? AND id = ?", kind, id)
	if err != nil {
		return fmt.Errorf("%s: delete %s %s: %w", t.s.d.Name, kind, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	if _, err := t.exec("DELETE FROM record_keys WHERE kind = ? AND id = ?", kind, id); err != nil {
		return fmt.Errorf("%s: drop keys %s %s: %w", t.s.d.Name, kind, id, err)
	}
	return t.change(kind, id, true)
}
