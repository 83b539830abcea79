package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/nubo-cloud/nubo/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open opens (creating if needed) the SQLite database at path and migrates it.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	dsn := func(txlock string) string {
		v := url.Values{}
		v.Add("_pragma", "busy_timeout(10000)")
		v.Add("_pragma", "journal_mode(WAL)")
		v.Add("_pragma", "synchronous(NORMAL)")
		v.Add("_pragma", "foreign_keys(ON)")
		// Checkpoints run in the background (checkpointer), not in the
		// commit of the write that crossed the threshold: the writer is the
		// one serial path. This is the safety net if they fall behind.
		v.Add("_pragma", "wal_autocheckpoint(16384)")
		v.Set("_txlock", txlock)
		return "file:" + path + "?" + v.Encode()
	}
	writer, err := sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, err
	}
	reader, err := sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	reader.SetConnMaxIdleTime(0)
	reader.SetConnMaxLifetime(0)
	d := sqlstore.Dialect{
		Name:         "sqlite",
		Retryable:    retryable,
		PollInterval: time.Second,
		RefIndexHint: "INDEXED BY records_ref",
	}
	cctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go checkpointer(cctx, reader, done)
	return sqlstore.New(d, writer, reader, func() error { stop(); <-done; return nil }), nil
}

// checkpointInterval is how often checkpointer copies the WAL back.
const checkpointInterval = 200 * time.Millisecond

// checkpointer copies committed pages from the WAL into the database file
// every checkpointInterval until ctx ends, with PASSIVE checkpoints on a
// reader connection: they wait for no one and block no one, and the writer
// then restarts the WAL from its beginning once every reader has moved on.
func checkpointer(ctx context.Context, db *sql.DB, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var busy, frames, copied int
		_ = db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied) // retried next tick
	}
}

func migrate(ctx context.Context, db *sql.DB) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, db, mustSub(migrations, "migrations"))
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

func retryable(err error) bool {
	if err == nil {
		return false
	}
	var c interface{ Code() int }
	if errors.As(err, &c) {
		switch c.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
	}
	return strings.Contains(err.Error(), "SQLITE_BUSY")
}
