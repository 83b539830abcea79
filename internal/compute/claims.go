package compute

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/scheduler"
	"github.com/nubo-cloud/nubo/internal/store"
)

// ErrNoCapacity means a claim no longer fits on its host (another claim won
// the race since the snapshot); schedule again.
var ErrNoCapacity = errors.New("compute: host has no capacity left")

// ClaimRequest is an allocation to commit.
type ClaimRequest struct {
	ConsumerID string
	ProjectID  string
	UserID     string
	HostID     string
	Resources  scheduler.Resources
}

// Claim writes the allocation of req.ConsumerID against req.HostID in one
// write transaction that re-reads the host's inventory and usage and checks
// scheduler.Fits: write transactions are serialised, so two claims can never
// both take the last capacity. A consumer holds at most one allocation; a new
// claim replaces its old one (resize on the same host). It is for the control
// plane (scheduler, reconcilers), not for API callers.
func (s *Service) Claim(ctx context.Context, req ClaimRequest) error {
	return s.write(ctx, func(tx store.Tx) error { return claim(tx, req, s.now()) })
}

func claim(tx store.Tx, req ClaimRequest, now time.Time) error {
	h, err := store.Get[Host](tx, KindHost, req.HostID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("claim on host %s: %w", req.HostID, err)
	}
	if err != nil {
		return err
	}
	allocs, err := store.List[Allocation](tx, KindAllocation, store.ListOptions{Ref: req.HostID})
	if err != nil {
		return err
	}
	used := scheduler.Resources{}
	exists := false
	for _, a := range allocs {
		if a.ConsumerID == req.ConsumerID {
			exists = true
			continue
		}
		for k, v := range a.Resources {
			used[k] += v
		}
	}
	if !scheduler.Fits(h.Inventory, used, req.Resources) {
		return ErrNoCapacity
	}
	a := Allocation{ConsumerID: req.ConsumerID, ProviderID: req.HostID, ProjectID: req.ProjectID, UserID: req.UserID, Resources: req.Resources, CreatedAt: now}
	rec := store.Record{Kind: KindAllocation, ID: req.ConsumerID, Ref: req.HostID, Value: a}
	if !exists {
		// The consumer may hold an allocation on another host: move it.
		if err := tx.Delete(KindAllocation, req.ConsumerID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if exists {
		err = tx.Update(rec)
	} else {
		err = tx.Create(rec)
	}
	if err != nil {
		return err
	}
	h.Generation++
	return tx.Update(store.Record{Kind: KindHost, ID: h.ID, Unique: []string{"name:" + h.Name, seqKey(h.Seq)}, Value: h})
}

// Release drops a consumer's allocation (server deleted); no allocation is
// not an error.
func (s *Service) Release(ctx context.Context, consumerID string) error {
	return s.write(ctx, func(tx store.Tx) error {
		err := tx.Delete(KindAllocation, consumerID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
}

// Schedule places req with the scheduler over a fresh snapshot and claims
// the result, retrying when a concurrent claim took the capacity first. The
// consumer's own request (resources, zone, group, hints) is in req.
func (s *Service) Schedule(ctx context.Context, consumer ClaimRequest, req scheduler.Request) (scheduler.Placement, error) {
	if req.DefaultZone == "" {
		req.DefaultZone = DefaultZone
	}
	const attempts = 5
	for range attempts {
		snap, err := s.Snapshot(ctx)
		if err != nil {
			return scheduler.Placement{}, err
		}
		p, err := scheduler.Place(req, snap)
		if err != nil {
			return scheduler.Placement{}, fault.Wrap(fault.BadRequest, err, "No valid host was found. "+err.Error())
		}
		consumer.HostID, consumer.Resources = p.HostID, p.Resources
		err = s.Claim(ctx, consumer)
		if errors.Is(err, ErrNoCapacity) {
			continue
		}
		return p, err
	}
	return scheduler.Placement{}, fault.New(fault.Conflict, "No valid host was found. Claims kept racing for the same hosts.")
}

// Allocations returns a consumer's allocations (Placement's view).
func (s *Service) Allocations(ctx context.Context, consumerID string) ([]Allocation, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []Allocation
	err := s.read(ctx, func(tx store.ReadTx) error {
		a, err := store.Get[Allocation](tx, KindAllocation, consumerID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out = append(out, *a)
		return nil
	})
	return out, err
}

// ProviderAllocations returns the allocations against a host.
func (s *Service) ProviderAllocations(ctx context.Context, hostID string) ([]Allocation, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []Allocation
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[Allocation](tx, KindAllocation, store.ListOptions{Ref: hostID})
		return err
	})
	return out, err
}
