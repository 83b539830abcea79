package network

import (
	"context"
	"errors"
	"slices"

	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// NetworkSpec is a create or update request; nil fields are left alone.
type NetworkSpec struct {
	Name                *string  `json:"name"`
	Description         *string  `json:"description"`
	ProjectID           string   `json:"project_id"`
	TenantID            string   `json:"tenant_id"`
	AdminStateUp        *bool    `json:"admin_state_up"`
	Shared              *bool    `json:"shared"`
	External            *bool    `json:"router:external"`
	MTU                 *Int     `json:"mtu"`
	PortSecurityEnabled *bool    `json:"port_security_enabled"`
	NetworkType         *string  `json:"provider:network_type"`
	PhysicalNetwork     *string  `json:"provider:physical_network"`
	SegmentationID      *Int     `json:"provider:segmentation_id"`
	AZHints             []string `json:"availability_zone_hints"`
	IsDefault           *bool    `json:"is_default"`
	DNSDomain           *string  `json:"dns_domain"`
	Tags                []string `json:"tags"`
	// IfRevision, when set, makes an update fail unless the revision matches.
	IfRevision *int64 `json:"-"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func boolOr(p *bool, d bool) bool {
	if p == nil {
		return d
	}
	return *p
}

// networkVisible: own project, admin, shared or external.
func networkVisible(n *Network, c *policy.Credentials) bool {
	return c.IsAdmin() || n.ProjectID == c.ProjectID || n.Shared || n.External
}

func (s *Service) getNetwork(ctx context.Context, tx store.ReadTx, id string) (*Network, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	n, err := store.Get[Network](tx, kindNetwork, id)
	if isNotFound(err) || (err == nil && !networkVisible(n, c)) {
		return nil, notFound("NetworkNotFound", "Network", id)
	}
	return n, err
}

func (s *Service) validateSegment(spec *NetworkSpec, n *Network) error {
	if spec.NetworkType != nil {
		switch *spec.NetworkType {
		case "flat", "vlan", "vxlan", "local", "geneve":
		default:
			return invalidInput("network_type value '%s' not supported", *spec.NetworkType)
		}
		n.NetworkType = *spec.NetworkType
	}
	if spec.PhysicalNetwork != nil {
		n.PhysicalNetwork = *spec.PhysicalNetwork
	}
	if spec.SegmentationID != nil {
		v := int(*spec.SegmentationID)
		n.SegmentationID = &v
	}
	switch n.NetworkType {
	case "flat":
		if n.PhysicalNetwork == "" {
			return invalidInput("physical_network required for flat provider network")
		}
		if n.SegmentationID != nil {
			return invalidInput("segmentation_id specified for flat provider network")
		}
	case "vlan":
		if n.PhysicalNetwork == "" {
			return invalidInput("physical_network required for VLAN provider network")
		}
		if n.SegmentationID != nil && (*n.SegmentationID < 1 || *n.SegmentationID > 4094) {
			return invalidInput("segmentation_id out of range (1 through 4094)")
		}
	case "vxlan", "geneve":
		if n.PhysicalNetwork != "" {
			return invalidInput("provider:physical_network specified for %s network", n.NetworkType)
		}
	}
	if n.PhysicalNetwork != "" && !slices.Contains(s.cfg.PhysicalNetworks, n.PhysicalNetwork) {
		return invalidInput("physical_network '%s' unknown for %s provider network", n.PhysicalNetwork, n.NetworkType)
	}
	return nil
}

// segmentKey makes provider segments unique.
func segmentKey(n *Network) []string {
	switch {
	case n.NetworkType == "flat":
		return []string{"seg:flat/" + n.PhysicalNetwork}
	case n.SegmentationID != nil:
		return []string{"seg:" + n.NetworkType + "/" + n.PhysicalNetwork + "/" + itoa(*n.SegmentationID)}
	}
	return nil
}

// CreateNetwork creates a network (provider attributes, shared and external
// are admin-only).
func (s *Service) CreateNetwork(ctx context.Context, spec NetworkSpec) (*Network, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	project, err := ownerFor(c, spec.ProjectID, spec.TenantID)
	if err != nil {
		return nil, err
	}
	if !c.IsAdmin() && (spec.Shared != nil && *spec.Shared || spec.External != nil && *spec.External ||
		spec.NetworkType != nil || spec.PhysicalNetwork != nil || spec.SegmentationID != nil) {
		return nil, forbidden("(rule:create_network and (rule:create_network:shared and rule:create_network:router:external and rule:create_network:provider:network_type)) is disallowed by policy")
	}
	n := &Network{Meta: s.newMeta(project, str(spec.Name), str(spec.Description)),
		AdminStateUp: boolOr(spec.AdminStateUp, true), Status: StatusActive, Shared: boolOr(spec.Shared, false),
		External: boolOr(spec.External, false), PortSecurityEnabled: boolOr(spec.PortSecurityEnabled, true),
		NetworkType: "vxlan", AZHints: orEmpty(spec.AZHints), IsDefault: boolOr(spec.IsDefault, false), DNSDomain: str(spec.DNSDomain)}
	if spec.Tags != nil {
		n.Tags = spec.Tags
	}
	if err := s.validateSegment(&spec, n); err != nil {
		return nil, err
	}
	n.MTU = s.cfg.MTU
	if n.NetworkType != "vxlan" && n.NetworkType != "geneve" {
		n.MTU = s.cfg.MTU + 50
	}
	if spec.MTU != nil {
		if *spec.MTU < 68 || int(*spec.MTU) > n.MTU {
			return nil, invalidInput("Requested MTU is too big, maximum is %d", n.MTU)
		}
		n.MTU = int(*spec.MTU)
	}
	err = s.write(ctx, func(tx store.Tx) error {
		if n.NetworkType == "vxlan" && n.SegmentationID == nil {
			vni, err := s.nextVNI(tx)
			if err != nil {
				return err
			}
			n.SegmentationID = &vni
		}
		if err := s.charge(tx, project, "network", 1); err != nil {
			return err
		}
		if _, err := s.ensureDefaultSG(tx, project); err != nil {
			return err
		}
		err := put(tx, kindNetwork, project, n, segmentKey(n), true)
		if errors.Is(err, store.ErrConflict) {
			return conflict("SegmentationIdInUse", "Unable to create the network. The segment %s is in use.", segmentKey(n)[0])
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// nextVNI picks the lowest free VXLAN VNI (1..16M); tenant networks need one
// for the data plane.
func (s *Service) nextVNI(tx store.Tx) (int, error) {
	for vni := 1; vni < 1<<24; vni++ {
		if _, err := tx.Lookup(kindNetwork, "seg:vxlan//"+itoa(vni)); isNotFound(err) {
			return vni, nil
		} else if err != nil {
			return 0, err
		}
	}
	return 0, conflict("NoNetworkAvailable", "Unable to create the network. No tenant network is available for allocation.")
}

// GetNetwork returns a visible network.
func (s *Service) GetNetwork(ctx context.Context, id string) (*Network, error) {
	var n *Network
	err := s.read(ctx, func(tx store.ReadTx) error {
		var err error
		n, err = s.getNetwork(ctx, tx, id)
		return err
	})
	return n, err
}

// ListNetworks returns the networks the caller can see.
func (s *Service) ListNetworks(ctx context.Context) ([]Network, error) {
	return listVisible(ctx, s, kindNetwork, func(c *policy.Credentials, n *Network) bool { return networkVisible(n, c) })
}

// NetworkSubnets returns the IDs of the subnets of each network.
func (s *Service) NetworkSubnets(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	err := s.read(ctx, func(tx store.ReadTx) error {
		items, err := tx.List(kindSubnet, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, it := range items {
			out[it.Ref] = append(out[it.Ref], it.ID)
		}
		return nil
	})
	return out, err
}

// UpdateNetwork changes a network.
func (s *Service) UpdateNetwork(ctx context.Context, id string, spec NetworkSpec) (*Network, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var n *Network
	err = s.write(ctx, func(tx store.Tx) error {
		var err error
		if n, err = s.getNetwork(ctx, tx, id); err != nil {
			return err
		}
		if !canWrite(c, n.ProjectID) {
			if n.ProjectID != c.ProjectID && !n.Shared && !n.External {
				return notFound("NetworkNotFound", "Network", id)
			}
			return forbidden("rule:update_network is disallowed by policy")
		}
		if !c.IsAdmin() && (spec.Shared != nil && *spec.Shared != n.Shared || spec.External != nil && *spec.External != n.External ||
			spec.NetworkType != nil || spec.PhysicalNetwork != nil || spec.SegmentationID != nil) {
			return forbidden("rule:update_network:shared is disallowed by policy")
		}
		if spec.NetworkType != nil || spec.PhysicalNetwork != nil || spec.SegmentationID != nil {
			return invalidInput("Plugin does not support updating provider attributes")
		}
		if spec.Shared != nil && !*spec.Shared && n.Shared {
			ports, err := store.List[Port](tx, kindPort, store.ListOptions{Ref: id})
			if err != nil {
				return err
			}
			for _, p := range ports {
				if p.ProjectID != n.ProjectID && p.DeviceOwner != OwnerDHCP {
					return conflict("InvalidSharedSetting", "Unable to reconfigure sharing settings for network %s. Multiple tenants are using it.", id)
				}
			}
		}
		if err := s.touch(&n.Meta, spec.IfRevision); err != nil {
			return err
		}
		if spec.Name != nil {
			n.Name = *spec.Name
		}
		if spec.Description != nil {
			n.Description = *spec.Description
		}
		if spec.AdminStateUp != nil {
			n.AdminStateUp = *spec.AdminStateUp
		}
		if spec.Shared != nil {
			n.Shared = *spec.Shared
		}
		if spec.External != nil {
			n.External = *spec.External
		}
		if spec.MTU != nil {
			n.MTU = int(*spec.MTU)
		}
		if spec.PortSecurityEnabled != nil {
			n.PortSecurityEnabled = *spec.PortSecurityEnabled
		}
		if spec.IsDefault != nil {
			n.IsDefault = *spec.IsDefault
		}
		if spec.DNSDomain != nil {
			n.DNSDomain = *spec.DNSDomain
		}
		return put(tx, kindNetwork, n.ProjectID, n, segmentKey(n), false)
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// DeleteNetwork deletes a network and its subnets; it fails with
// NetworkInUse while ports other than DHCP ports remain.
func (s *Service) DeleteNetwork(ctx context.Context, id string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		n, err := s.getNetwork(ctx, tx, id)
		if err != nil {
			return err
		}
		if !canWrite(c, n.ProjectID) {
			if n.ProjectID != c.ProjectID {
				return notFound("NetworkNotFound", "Network", id)
			}
			return forbidden("rule:delete_network is disallowed by policy")
		}
		ports, err := store.List[Port](tx, kindPort, store.ListOptions{Ref: id})
		if err != nil {
			return err
		}
		for _, p := range ports {
			if p.DeviceOwner != OwnerDHCP {
				return conflict("NetworkInUse", "Unable to complete operation on network %s. There are one or more ports still in use on the network.", id)
			}
		}
		for _, p := range ports {
			if err := s.deletePortTx(tx, &p); err != nil {
				return err
			}
		}
		// Floating IPs of an external network go with it (Neutron's
		// network:floatingip ports are deleted automatically too).
		fips, err := store.List[FloatingIP](tx, kindFloatingIP, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, f := range fips {
			if f.FloatingNetworkID != id {
				continue
			}
			if err := s.charge(tx, f.ProjectID, "floatingip", -1); err != nil {
				return err
			}
			if err := deleteForwardings(tx, func(pf *PortForwarding) bool { return pf.FloatingIPID == f.ID }); err != nil {
				return err
			}
			if err := tx.Delete(kindFloatingIP, f.ID); err != nil {
				return err
			}
		}
		subnets, err := store.List[Subnet](tx, kindSubnet, store.ListOptions{Ref: id})
		if err != nil {
			return err
		}
		for _, sn := range subnets {
			if err := s.deleteSubnetTx(tx, &sn); err != nil {
				return err
			}
		}
		if err := s.charge(tx, n.ProjectID, "network", -1); err != nil {
			return err
		}
		return tx.Delete(kindNetwork, id)
	})
}
