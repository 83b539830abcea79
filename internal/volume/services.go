package volume

import (
	"context"
	"errors"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

// KindServiceState is the record kind of the admin-set state of one of
// the Cinder services this process plays (its ID is the binary).
const KindServiceState = "volume.service"

// HostName is the host the scheduler and backup services run on; the
// volume service runs on HostName@<backend>.
const HostName = "nubo"

// Service binaries, as Cinder names them.
const (
	BinaryScheduler = "cinder-scheduler"
	BinaryVolume    = "cinder-volume"
	BinaryBackup    = "cinder-backup"
)

// ServiceState is one Cinder service as the API shows it.
type ServiceState struct {
	Binary         string    `json:"binary"`
	Host           string    `json:"host"`
	Disabled       bool      `json:"disabled"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	Frozen         bool      `json:"frozen,omitempty"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// BackendHost is the volume service's host (host@backend).
func (s *Service) BackendHost() string { return HostName + "@" + s.drv.Name() }

func (s *Service) serviceHosts() []ServiceState {
	return []ServiceState{{Binary: BinaryScheduler, Host: HostName}, {Binary: BinaryVolume, Host: s.BackendHost()},
		{Binary: BinaryBackup, Host: HostName}}
}

func (s *Service) services(tx store.ReadTx) ([]ServiceState, error) {
	out := s.serviceHosts()
	for i := range out {
		st, err := store.Get[ServiceState](tx, KindServiceState, out[i].Binary)
		switch {
		case errors.Is(err, store.ErrNotFound):
			out[i].UpdatedAt = s.now()
		case err != nil:
			return nil, err
		default:
			out[i].Disabled, out[i].DisabledReason, out[i].Frozen = st.Disabled, st.DisabledReason, st.Frozen
			out[i].UpdatedAt = s.now() // the services report continuously: they are up
		}
	}
	return out, nil
}

// Services lists the Cinder services (admin).
func (s *Service) Services(ctx context.Context) ([]ServiceState, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var out []ServiceState
	err := s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		out, err = s.services(tx)
		return err
	})
	return out, err
}

// hostMatches reports whether host names svc's host: exactly, or for the
// volume service also without the backend (Cinder accepts both).
func (s *Service) hostMatches(svc ServiceState, host string) bool {
	return host == svc.Host || svc.Binary == BinaryVolume && host == HostName
}

func putServiceState(tx store.Tx, st *ServiceState) error {
	err := tx.Update(store.Record{Kind: KindServiceState, ID: st.Binary, Value: st})
	if errors.Is(err, store.ErrNotFound) {
		err = tx.Create(store.Record{Kind: KindServiceState, ID: st.Binary, Value: st})
	}
	return err
}

// SetServiceDisabled enables or disables a service (admin); reason is
// kept for a disabled one. Unknown host or binary: 404.
func (s *Service) SetServiceDisabled(ctx context.Context, host, binary string, disabled bool, reason string) (*ServiceState, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if host == "" || binary == "" {
		return nil, badRequest("Invalid input received: host and binary are required.")
	}
	if len(reason) > 255 {
		return nil, badRequest("Invalid input received: Disabled reason is longer than 255 characters.")
	}
	var out *ServiceState
	err := s.st.Write(ctx, func(tx store.Tx) error {
		all, err := s.services(tx)
		if err != nil {
			return err
		}
		for _, svc := range all {
			if svc.Binary != binary || !s.hostMatches(svc, host) {
				continue
			}
			svc.Disabled, svc.DisabledReason = disabled, ""
			if disabled {
				svc.DisabledReason = reason
			}
			out = &svc
			return putServiceState(tx, &svc)
		}
		return fault.New(fault.NotFound, "Service %s on host %s could not be found.", binary, host)
	})
	return out, err
}

// SetHostFrozen freezes or thaws a volume backend host (admin): a frozen
// backend refuses management of its volumes. A host that is not a volume
// backend is a 400, as Cinder.
func (s *Service) SetHostFrozen(ctx context.Context, host string, frozen bool) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		all, err := s.services(tx)
		if err != nil {
			return err
		}
		for _, svc := range all {
			if svc.Binary == BinaryVolume && s.hostMatches(svc, host) {
				svc.Frozen = frozen
				return putServiceState(tx, &svc)
			}
		}
		return badRequest("Invalid input received: No volume service found with host %s.", host)
	})
}

// checkNotFrozen refuses to manage volumes on a frozen backend.
func checkNotFrozen(tx store.ReadTx) error {
	st, err := store.Get[ServiceState](tx, KindServiceState, BinaryVolume)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Frozen {
		return badRequest("Invalid input received: The volume backend is frozen; thaw it first.")
	}
	return nil
}
