package compute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Service implements Compute over a store.
type Service struct {
	st  store.Store
	log *slog.Logger
	now func() time.Time
	// ports and images are the other services servers use (servers.go).
	ports  Ports
	images Images
	// volumes is Block Storage (volumes.go).
	volumes Volumes
	// consoles reads real hosts' serial consoles (server_actions.go).
	consoles Consoles
}

// New returns a Service.
func New(st store.Store, log *slog.Logger) *Service {
	return &Service{st: st, log: log.With("component", "compute"), now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// SetClock replaces the clock, for tests.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

func (s *Service) read(ctx context.Context, fn func(store.ReadTx) error) error {
	return s.st.Read(ctx, fn)
}

func (s *Service) write(ctx context.Context, fn func(store.Tx) error) error {
	return s.st.Write(ctx, fn)
}

func newID() string { return uuid.NewString() }

type seq struct {
	N int64 `json:"n"`
}

// nextSeq returns the next integer ID of a sequence (Nova's integer IDs of
// aggregates, services, hypervisors and keypairs).
func nextSeq(tx store.Tx, name string) (int64, error) {
	cur, err := store.Get[seq](tx, kindSeq, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		cur = &seq{}
		cur.N++
		return cur.N, tx.Create(store.Record{Kind: kindSeq, ID: name, Value: cur})
	case err != nil:
		return 0, err
	}
	cur.N++
	return cur.N, tx.Update(store.Record{Kind: kindSeq, ID: name, Value: cur})
}

func seqKey(n int64) string { return "seq:" + strconv.FormatInt(n, 10) }

func creds(ctx context.Context) *policy.Credentials { return policy.FromContext(ctx) }

func requireAdmin(ctx context.Context) error {
	c := creds(ctx)
	if c == nil {
		return fault.New(fault.Unauthorized, "The request you have made requires authentication.")
	}
	if !c.IsAdmin() {
		return forbidden()
	}
	return nil
}

// requireReader allows admins and system readers (Nova's *_READER rules on
// admin APIs).
func requireReader(ctx context.Context) error {
	c := creds(ctx)
	if c == nil {
		return fault.New(fault.Unauthorized, "The request you have made requires authentication.")
	}
	if !c.IsReader() {
		return forbidden()
	}
	return nil
}

func forbidden() error {
	return fault.New(fault.Forbidden, "Policy doesn't allow this action to be performed.")
}

func badRequest(format string, args ...any) error {
	return fault.New(fault.BadRequest, format, args...)
}

func notFound(format string, args ...any) error {
	return fault.New(fault.NotFound, format, args...)
}

func conflict(format string, args ...any) error {
	return fault.New(fault.Conflict, format, args...)
}

// get reads a record, turning ErrNotFound into the fault msg.
func get[T any](tx store.ReadTx, kind, id string, msg string) (*T, error) {
	v, err := store.Get[T](tx, kind, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("%s", msg)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", kind, id, err)
	}
	return v, nil
}
