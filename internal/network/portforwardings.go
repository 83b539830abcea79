package network

import (
	"context"
	"net/netip"
	"strconv"

	"github.com/nubo-cloud/nubo/internal/store"
)

const kindPortForwarding = "network.portforwarding"

// PortForwarding maps a floating IP's external port to a port's fixed IP
// (DNAT on the router the floating IP goes through).
type PortForwarding struct {
	ID                string `json:"id"`
	FloatingIPID      string `json:"floatingip_id"`
	ProjectID         string `json:"project_id"`
	Protocol          string `json:"protocol"`
	InternalPortID    string `json:"internal_port_id"`
	InternalIPAddress string `json:"internal_ip_address"`
	InternalPort      int    `json:"internal_port"`
	ExternalPort      int    `json:"external_port"`
	Description       string `json:"description"`
}

// PortForwardingSpec is a create or update request.
type PortForwardingSpec struct {
	Protocol          *string `json:"protocol"`
	InternalPortID    *string `json:"internal_port_id"`
	InternalIPAddress *string `json:"internal_ip_address"`
	InternalPort      *Int    `json:"internal_port"`
	ExternalPort      *Int    `json:"external_port"`
	Description       *string `json:"description"`
}

func pfUnique(pf *PortForwarding) []string {
	return []string{
		"ext:" + pf.FloatingIPID + "/" + pf.Protocol + "/" + strconv.Itoa(pf.ExternalPort),
		"int:" + pf.InternalPortID + "/" + pf.InternalIPAddress + "/" + pf.Protocol + "/" + strconv.Itoa(pf.InternalPort),
	}
}

func (s *Service) applyPF(ctx context.Context, tx store.Tx, f *FloatingIP, pf *PortForwarding, spec PortForwardingSpec) error {
	if spec.Protocol != nil {
		pf.Protocol = *spec.Protocol
	}
	if pf.Protocol != "tcp" && pf.Protocol != "udp" {
		return invalidInput("'%s' is not in ['tcp', 'udp']", pf.Protocol)
	}
	if spec.Description != nil {
		pf.Description = *spec.Description
	}
	for _, p := range []struct {
		v   *Int
		dst *int
	}{{spec.InternalPort, &pf.InternalPort}, {spec.ExternalPort, &pf.ExternalPort}} {
		if p.v != nil {
			*p.dst = int(*p.v)
		}
	}
	if pf.InternalPort < 1 || pf.InternalPort > 65535 || pf.ExternalPort < 1 || pf.ExternalPort > 65535 {
		return invalidInput("Invalid port: ports must be within 1 and 65535")
	}
	if spec.InternalPortID != nil {
		pf.InternalPortID = *spec.InternalPortID
	}
	if spec.InternalIPAddress != nil {
		pf.InternalIPAddress = *spec.InternalIPAddress
	}
	if f.PortID != "" {
		return conflict("FipInUse", "Floating IP %s is associated with port %s; it cannot also forward ports.", f.ID, f.PortID)
	}
	p, err := s.getPort(ctx, tx, pf.InternalPortID)
	if err != nil {
		return err
	}
	held := false
	for _, ip := range p.FixedIPs {
		if ip.IPAddress == pf.InternalIPAddress {
			held = true
		}
	}
	if _, err := netip.ParseAddr(pf.InternalIPAddress); err != nil || !held {
		return badRequest("Bad port_forwarding request: internal IP %s is not a fixed IP of port %s.", pf.InternalIPAddress, p.ID)
	}
	// The port must be reachable from the floating IP's network through a router.
	probe := *f
	if err := s.associate(ctx, tx, nil, &probe, p.ID, pf.InternalIPAddress); err != nil {
		return err
	}
	f.RouterID = probe.RouterID
	return nil
}

// CreatePortForwarding adds a forwarding to a floating IP.
func (s *Service) CreatePortForwarding(ctx context.Context, fipID string, spec PortForwardingSpec) (*PortForwarding, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var pf *PortForwarding
	err = s.write(ctx, func(tx store.Tx) error {
		f, err := s.getFIP(ctx, tx, fipID)
		if err != nil {
			return err
		}
		if !canWrite(c, f.ProjectID) {
			return forbidden("rule:create_floatingip_port_forwarding is disallowed by policy")
		}
		pf = &PortForwarding{ID: newID(), FloatingIPID: f.ID, ProjectID: f.ProjectID}
		if err := s.applyPF(ctx, tx, f, pf, spec); err != nil {
			return err
		}
		if err := tx.Create(store.Record{Kind: kindPortForwarding, ID: pf.ID, Ref: f.ID, Unique: pfUnique(pf), Value: pf}); err != nil {
			if isConflict(err) {
				return badRequest("Bad port_forwarding request: a forwarding with these external or internal parameters already exists.")
			}
			return err
		}
		return put(tx, kindFloatingIP, f.ProjectID, f, fipUnique(f), false)
	})
	if err != nil {
		return nil, err
	}
	return pf, nil
}

// ListPortForwardings returns a floating IP's forwardings.
func (s *Service) ListPortForwardings(ctx context.Context, fipID string) ([]PortForwarding, error) {
	var out []PortForwarding
	err := s.read(ctx, func(tx store.ReadTx) error {
		if _, err := s.getFIP(ctx, tx, fipID); err != nil {
			return err
		}
		var err error
		out, err = store.List[PortForwarding](tx, kindPortForwarding, store.ListOptions{Ref: fipID})
		return err
	})
	return out, err
}

func (s *Service) getPF(ctx context.Context, tx store.ReadTx, fipID, id string) (*FloatingIP, *PortForwarding, error) {
	f, err := s.getFIP(ctx, tx, fipID)
	if err != nil {
		return nil, nil, err
	}
	pf, err := store.Get[PortForwarding](tx, kindPortForwarding, id)
	if isNotFound(err) || err == nil && pf.FloatingIPID != fipID {
		return nil, nil, notFound("PortForwardingNotFound", "Port Forwarding", id)
	}
	return f, pf, err
}

// GetPortForwarding returns one forwarding.
func (s *Service) GetPortForwarding(ctx context.Context, fipID, id string) (*PortForwarding, error) {
	var pf *PortForwarding
	err := s.read(ctx, func(tx store.ReadTx) error {
		var err error
		_, pf, err = s.getPF(ctx, tx, fipID, id)
		return err
	})
	return pf, err
}

// UpdatePortForwarding changes a forwarding.
func (s *Service) UpdatePortForwarding(ctx context.Context, fipID, id string, spec PortForwardingSpec) (*PortForwarding, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var pf *PortForwarding
	err = s.write(ctx, func(tx store.Tx) error {
		var f *FloatingIP
		var err error
		if f, pf, err = s.getPF(ctx, tx, fipID, id); err != nil {
			return err
		}
		if !canWrite(c, f.ProjectID) {
			return forbidden("rule:update_floatingip_port_forwarding is disallowed by policy")
		}
		if err := s.applyPF(ctx, tx, f, pf, spec); err != nil {
			return err
		}
		err = tx.Update(store.Record{Kind: kindPortForwarding, ID: pf.ID, Ref: f.ID, Unique: pfUnique(pf), Value: pf})
		if isConflict(err) {
			return badRequest("Bad port_forwarding request: a forwarding with these external or internal parameters already exists.")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return pf, nil
}

// DeletePortForwarding removes a forwarding.
func (s *Service) DeletePortForwarding(ctx context.Context, fipID, id string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		f, pf, err := s.getPF(ctx, tx, fipID, id)
		if err != nil {
			return err
		}
		if !canWrite(c, f.ProjectID) {
			return forbidden("rule:delete_floatingip_port_forwarding is disallowed by policy")
		}
		return tx.Delete(kindPortForwarding, pf.ID)
	})
}
