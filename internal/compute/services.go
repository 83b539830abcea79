package compute

import (
	"context"
	"errors"
	"sort"

	"github.com/nubo-cloud/nubo/internal/store"
)

// ServiceView is a service with its zone.
type ServiceView struct {
	NovaService
	Zone string
}

// State is "up" unless forced down.
func (v *ServiceView) State() string {
	if v.ForcedDown {
		return "down"
	}
	return "up"
}

// Status is "enabled" or "disabled".
func (v *ServiceView) Status() string {
	if v.Disabled {
		return "disabled"
	}
	return "enabled"
}

// ListServices returns the services (admin or system reader), filtered by
// host and binary when not empty.
func (s *Service) ListServices(ctx context.Context, host, binary string) ([]ServiceView, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []ServiceView
	err := s.read(ctx, func(tx store.ReadTx) error {
		svcs, err := store.List[NovaService](tx, KindService, store.ListOptions{})
		if err != nil {
			return err
		}
		zones, _, err := hostZones(tx)
		if err != nil {
			return err
		}
		for _, sv := range svcs {
			if (host != "" && sv.Host != host) || (binary != "" && sv.Binary != binary) {
				continue
			}
			out = append(out, ServiceView{NovaService: sv, Zone: serviceZone(&sv, zones)})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, err
}

func serviceZone(sv *NovaService, zones map[string]string) string {
	if sv.Binary != BinaryCompute {
		return InternalZone
	}
	if z := zones[sv.Host]; z != "" {
		return z
	}
	return DefaultZone
}

// ServiceUpdate changes a service; nil fields stay.
type ServiceUpdate struct {
	// Disabled: true disables, false enables.
	Disabled       *bool
	DisabledReason *string
	ForcedDown     *bool
}

// UpdateService changes the service with UUID id (admin, 2.53).
func (s *Service) UpdateService(ctx context.Context, id string, u ServiceUpdate) (*ServiceView, error) {
	return s.updateService(ctx, func(tx store.ReadTx) (*NovaService, error) {
		return get[NovaService](tx, KindService, id, "Service "+id+" could not be found.")
	}, u)
}

// UpdateServiceByHost changes the service binary on host (admin, before 2.53).
func (s *Service) UpdateServiceByHost(ctx context.Context, host, binary string, u ServiceUpdate) (*ServiceView, error) {
	return s.updateService(ctx, func(tx store.ReadTx) (*NovaService, error) {
		id, err := tx.Lookup(KindService, binary+"@"+host)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("Service %s on host %s could not be found.", binary, host)
		}
		if err != nil {
			return nil, err
		}
		return get[NovaService](tx, KindService, id, "Service "+binary+" on host "+host+" could not be found.")
	}, u)
}

func (s *Service) updateService(ctx context.Context, find func(store.ReadTx) (*NovaService, error), u ServiceUpdate) (*ServiceView, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if u.DisabledReason != nil && (len(*u.DisabledReason) > 255) {
		return nil, badRequest("Invalid input for field/attribute disabled_reason: longer than 255 characters.")
	}
	var v *ServiceView
	err := s.write(ctx, func(tx store.Tx) error {
		sv, err := find(tx)
		if err != nil {
			return err
		}
		if u.Disabled != nil {
			sv.Disabled = *u.Disabled
			if !sv.Disabled {
				sv.DisabledReason = nil
			}
		}
		if u.DisabledReason != nil {
			if !sv.Disabled {
				return badRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
			}
			sv.DisabledReason = u.DisabledReason
		}
		if u.ForcedDown != nil {
			sv.ForcedDown = *u.ForcedDown
		}
		now := s.now()
		sv.UpdatedAt = &now
		if err := putService(tx, sv, false); err != nil {
			return err
		}
		zones, _, err := hostZones(tx)
		if err != nil {
			return err
		}
		v = &ServiceView{NovaService: *sv, Zone: serviceZone(sv, zones)}
		return nil
	})
	return v, err
}

// DeleteService removes a service (admin). A nova-compute service takes its
// host with it; it must hold no allocations.
func (s *Service) DeleteService(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		sv, err := get[NovaService](tx, KindService, id, "Service "+id+" could not be found.")
		if err != nil {
			return err
		}
		if sv.Binary == BinaryCompute {
			h, err := hostByName(tx, sv.Host)
			if err == nil {
				allocs, err := tx.List(KindAllocation, store.ListOptions{Ref: h.ID})
				if err != nil {
					return err
				}
				if len(allocs) > 0 {
					return conflict("Unable to delete compute service that has in-progress migrations or allocated servers.")
				}
				if err := tx.Delete(KindHost, h.ID); err != nil {
					return err
				}
				if err := removeHostFromAggregates(tx, sv.Host); err != nil {
					return err
				}
			}
		}
		return tx.Delete(KindService, id)
	})
}
