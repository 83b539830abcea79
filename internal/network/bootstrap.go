package network

import (
	"context"
	"fmt"

	"github.com/nubo-cloud/nubo/internal/identity"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// PublicNetwork describes the external network `nubo up` bootstraps.
type PublicNetwork struct {
	Name            string
	PhysicalNetwork string
	CIDR            string
	Gateway         string
	PoolStart       string
	PoolEnd         string
}

// DefaultPublicNetwork is "public", 172.24.4.0/24 on the flat physical
// network "public" (the range DevStack uses, so Tempest and docs match).
func DefaultPublicNetwork() PublicNetwork {
	return PublicNetwork{Name: "public", PhysicalNetwork: "public", CIDR: "172.24.4.0/24", Gateway: "172.24.4.1", PoolStart: "172.24.4.10", PoolEnd: "172.24.4.254"}
}

// Bootstrap creates the external network owned by Identity's bootstrap
// "admin" project (see BootstrapFor).
func (s *Service) Bootstrap(ctx context.Context, id *identity.Service, pub PublicNetwork) error {
	names, err := id.LookupNames(ctx)
	if err != nil {
		return err
	}
	for _, p := range names.Projects {
		if p.Name == "admin" && p.DomainID == identity.DefaultDomainID {
			return s.BootstrapFor(ctx, p.ID, pub)
		}
	}
	return fmt.Errorf("no admin project to own the %s network", pub.Name)
}

// BootstrapFor creates the admin-owned external network and its subnet
// unless they exist (idempotent: a second `nubo up` changes nothing). The
// records only; the host agent will wire the physical network later.
func (s *Service) BootstrapFor(ctx context.Context, adminProjectID string, pub PublicNetwork) error {
	exists := false
	if err := s.read(ctx, func(tx store.ReadTx) error {
		_, err := tx.Lookup(kindNetwork, "seg:flat/"+pub.PhysicalNetwork)
		exists = err == nil
		return nil
	}); err != nil {
		return err
	}
	if exists {
		return nil
	}
	ctx = policy.NewContext(ctx, &policy.Credentials{ProjectID: adminProjectID, Roles: []string{policy.RoleAdmin, policy.RoleMember, policy.RoleReader}})
	n, err := s.CreateNetwork(ctx, NetworkSpec{Name: &pub.Name, External: ptr(true), NetworkType: ptr("flat"), PhysicalNetwork: &pub.PhysicalNetwork,
		Description: ptr("External network bootstrapped by nubo up")})
	if err != nil {
		return fmt.Errorf("create network %s: %w", pub.Name, err)
	}
	_, err = s.CreateSubnet(ctx, SubnetSpec{Name: ptr(pub.Name + "-subnet"), NetworkID: n.ID, IPVersion: 4, CIDR: &pub.CIDR,
		GatewayIP: Nullable{Set: true, Value: pub.Gateway}, EnableDHCP: ptr(false),
		AllocationPools: &[]Pool{{Start: pub.PoolStart, End: pub.PoolEnd}}})
	if err != nil {
		return fmt.Errorf("create subnet of %s: %w", pub.Name, err)
	}
	s.log.Info("bootstrapped external network", "name", pub.Name, "id", n.ID, "cidr", pub.CIDR)
	return nil
}
