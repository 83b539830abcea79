package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/nubo-cloud/nubo/internal/store"
	"github.com/nubo-cloud/nubo/internal/store/postgres"
	"github.com/nubo-cloud/nubo/internal/store/storetest"
)

// testURL returns TEST_POSTGRES_URL. Without it the test is skipped, except
// in CI (CI=true), which must run the PostgreSQL store.
func testURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_POSTGRES_URL is not set: CI must run the PostgreSQL store tests")
		}
		t.Skip("TEST_POSTGRES_URL is not set; skipping the PostgreSQL store tests " +
			"(e.g. TEST_POSTGRES_URL=postgres://nubo:nubo@127.0.0.1:5432/nubo?sslmode=disable)")
	}
	return u
}

// withParam returns the connection string with one more parameter, for both
// URL (postgres://…) and keyword/value (host=… dbname=…) forms.
func withParam(t *testing.T, conn, key, value string) string {
	t.Helper()
	if strings.Contains(conn, "://") {
		u, err := url.Parse(conn)
		if err != nil {
			t.Fatalf("TEST_POSTGRES_URL: %v", err)
		}
		if key == "dbname" {
			u.Path = "/" + value
			return u.String()
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return conn + " " + key + "=" + value
}

func uniqueName(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

func openAdmin(t *testing.T, conn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", conn)
	if err != nil {
		t.Fatalf("open admin connection: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatalf("connect to TEST_POSTGRES_URL: %v", err)
	}
	return db
}

// newSchema creates a uniquely named schema in the database at conn, drops it
// (with everything in it) when the test ends, and returns conn with
// search_path set to it.
func newSchema(t *testing.T, admin *sql.DB, conn string) string {
	t.Helper()
	schema := uniqueName(t, "nubo_test_")
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withParam(t, conn, "search_path", schema)
}

// open opens the store and checks that its tables landed in the schema
// search_path names, not in some other schema of the database.
func open(t *testing.T, admin *sql.DB, conn string) store.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), conn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var schema string
	var n int
	if err := s.DB().QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&schema); err != nil {
		s.Close()
		t.Fatalf("current_schema: %v", err)
	}
	if err := admin.QueryRowContext(t.Context(),
		"SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name IN ('nubo_meta', 'records', 'record_keys', 'changes')",
		schema).Scan(&n); err != nil || n != 4 || !strings.HasPrefix(schema, "nubo_test_") {
		s.Close()
		t.Fatalf("store tables in schema %q: %d, %v; want 4 in a nubo_test_ schema", schema, n, err)
	}
	return s
}

// schemaStores returns a factory making each store in a fresh schema.
func schemaStores(admin *sql.DB, conn string) func(t *testing.T) store.Store {
	return func(t *testing.T) store.Store {
		t.Helper()
		return open(t, admin, newSchema(t, admin, conn))
	}
}

func TestStore(t *testing.T) {
	conn := testURL(t)
	storetest.Run(t, schemaStores(openAdmin(t, conn), conn))
}

// TestStoreLinguisticCollation runs the suite in a database whose default
// collation is not byte order (ICU en-US, as many production databases
// are), so List order cannot silently depend on it.
func TestStoreLinguisticCollation(t *testing.T) {
	conn := testURL(t)
	admin := openAdmin(t, conn)
	dbname := uniqueName(t, "nubo_test_icu_")
	if _, err := admin.ExecContext(t.Context(),
		"CREATE DATABASE "+dbname+" TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"); err != nil {
		t.Skipf("cannot create an ICU-collated database (needs PostgreSQL 15+ with ICU and CREATEDB): %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+dbname+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", dbname, err)
		}
	})
	dbConn := withParam(t, conn, "dbname", dbname)
	storetest.Run(t, schemaStores(openAdmin(t, dbConn), dbConn))
}

// TestReopenResumes checks that reconnecting to the same database keeps the
// records, keys, revision and feed, and that migrations run again cleanly.
func TestReopenResumes(t *testing.T) {
	conn := testURL(t)
	admin := openAdmin(t, conn)
	conn = newSchema(t, admin, conn)
	ctx := t.Context()

	s := open(t, admin, conn)
	for _, id := range []string{"a", "b", "c"} {
		if err := s.Write(ctx, func(tx store.Tx) error {
			return tx.Create(store.Record{Kind: "widget", ID: id, Unique: []string{"key-" + id}, Value: id})
		}); err != nil {
			t.Fatalf("Create %s: %v", id, err)
		}
	}
	if err := s.Compact(ctx, 1); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, admin, conn)
	defer s.Close()
	if rev, err := s.Revision(ctx); err != nil || rev != 3 {
		t.Fatalf("Revision after reopen = %d, %v; want 3", rev, err)
	}
	if err := s.Read(ctx, func(tx store.ReadTx) error {
		items, err := tx.List("widget", store.ListOptions{})
		if err != nil {
			return err
		}
		if len(items) != 3 || items[2].ID != "c" || items[2].Rev != 3 {
			t.Errorf("List after reopen = %+v", items)
		}
		if id, err := tx.Lookup("widget", "key-b"); err != nil || id != "b" {
			t.Errorf("Lookup(key-b) after reopen = %q, %v", id, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("Read: %v", err)
	}
	if _, err := s.Changes(ctx, 0, 10); err == nil {
		t.Error("Changes(0) after reopen succeeded, want ErrCompacted")
	}
	if ch, err := s.Changes(ctx, 1, 10); err != nil || len(ch) != 2 || ch[0].Rev != 2 {
		t.Fatalf("Changes(1) after reopen = %+v, %v", ch, err)
	}
	if err := s.Write(ctx, func(tx store.Tx) error {
		return tx.Create(store.Record{Kind: "widget", ID: "d", Value: "d"})
	}); err != nil {
		t.Fatalf("Write after reopen: %v", err)
	}
	if rev, err := s.Revision(ctx); err != nil || rev != 4 {
		t.Fatalf("Revision after a write = %d, %v; want 4", rev, err)
	}
}
