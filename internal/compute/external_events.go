package compute

import (
	"context"
	"errors"

	"github.com/nubo-cloud/nubo/internal/store"
)

// ExternalEvent is one event of POST /os-server-external-events: what
// another service (Neutron, Cinder, Ironic) tells Nova about a server, and
// the answer for it (Code: 200 accepted, 404 no such server, 422 the
// server is on no host).
type ExternalEvent struct {
	Name     string
	ServerID string
	Status   string
	Tag      string
	Code     int
}

// ExternalEvents accepts events for servers (admin only; the services that
// send them act as admins). Nubo's hosts converge on the desired state by
// themselves (a changed port, an extended volume reach them through their
// next State), so an accepted event changes nothing: it is acknowledged
// as Nova would, per server.
func (s *Service) ExternalEvents(ctx context.Context, events []ExternalEvent) ([]ExternalEvent, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	out := make([]ExternalEvent, len(events))
	err := s.read(ctx, func(tx store.ReadTx) error {
		for i, ev := range events {
			if ev.Status == "" {
				ev.Status = "completed"
			}
			sv, err := store.Get[Server](tx, KindServer, ev.ServerID)
			switch {
			case errors.Is(err, store.ErrNotFound) || err == nil && sv.Deleted:
				ev.Code = 404
			case err != nil:
				return err
			case sv.HostID == "":
				ev.Code = 422
			default:
				ev.Code = 200
			}
			out[i] = ev
		}
		return nil
	})
	return out, err
}

// RefreshNetwork is resetNetwork and injectNetworkInfo (admin): Nova asks
// the server's host to reconfigure the guest's networking. A Nubo host
// renders a server's networking from the desired state on every pass, and
// guests take theirs from DHCP and the metadata service, so there is
// nothing to push: the server must exist and be on a host (409 otherwise,
// as Nova answers), and the call changes nothing.
func (s *Service) RefreshNetwork(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	sv, err := s.GetServer(ctx, id)
	if err != nil {
		return err
	}
	if sv.HostID == "" {
		return conflict("Instance %s is not ready yet: it is on no host.", sv.ID)
	}
	return nil
}
