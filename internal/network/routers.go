package network

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"

	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// GatewaySpec is external_gateway_info in a request; null or {} clears it.
type GatewaySpec struct {
	Set        bool
	Clear      bool
	NetworkID  string
	EnableSNAT *bool
	FixedIPs   *[]FixedIP
}

// UnmarshalJSON implements json.Unmarshaler.
func (g *GatewaySpec) UnmarshalJSON(b []byte) error {
	g.Set = true
	if string(b) == "null" {
		g.Clear = true
		return nil
	}
	var v struct {
		NetworkID  string     `json:"network_id"`
		EnableSNAT *bool      `json:"enable_snat"`
		FixedIPs   *[]FixedIP `json:"external_fixed_ips"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	g.NetworkID, g.EnableSNAT, g.FixedIPs = v.NetworkID, v.EnableSNAT, v.FixedIPs
	g.Clear = v.NetworkID == ""
	return nil
}

// RoutesSpec is a router's routes in a request; null clears them.
type RoutesSpec struct {
	Set    bool
	Routes []Route
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *RoutesSpec) UnmarshalJSON(b []byte) error {
	r.Set = true
	if string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, &r.Routes)
}

// RouterSpec is a create or update request.
type RouterSpec struct {
	Name         *string     `json:"name"`
	Description  *string     `json:"description"`
	ProjectID    string      `json:"project_id"`
	TenantID     string      `json:"tenant_id"`
	AdminStateUp *bool       `json:"admin_state_up"`
	Gateway      GatewaySpec `json:"external_gateway_info"`
	Routes       RoutesSpec  `json:"routes"`
	Distributed  *bool       `json:"distributed"`
	HA           *bool       `json:"ha"`
	AZHints      []string    `json:"availability_zone_hints"`
	Tags         []string    `json:"tags"`
	IfRevision   *int64      `json:"-"`
}

// InterfaceInfo is add/remove_router_interface's answer.
type InterfaceInfo struct {
	RouterID  string   `json:"id"`
	SubnetID  string   `json:"subnet_id"`
	SubnetIDs []string `json:"subnet_ids"`
	PortID    string   `json:"port_id"`
	NetworkID string   `json:"network_id"`
	ProjectID string   `json:"project_id"`
}

func (s *Service) getRouter(ctx context.Context, tx store.ReadTx, id string) (*Router, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	r, err := store.Get[Router](tx, kindRouter, id)
	if isNotFound(err) || err == nil && !visible(c, r.ProjectID) {
		return nil, notFound("RouterNotFound", "Router", id)
	}
	return r, err
}

// routerPorts returns the router's legs.
func routerPorts(tx store.ReadTx, routerID string) ([]Port, error) {
	all, err := store.List[Port](tx, kindPort, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []Port
	for _, p := range all {
		if p.DeviceID == routerID && (p.DeviceOwner == OwnerRouterInterface || p.DeviceOwner == OwnerRouterGateway) {
			out = append(out, p)
		}
	}
	return out, nil
}

// setGateway replaces the router's gateway leg.
func (s *Service) setGateway(tx store.Tx, c *policy.Credentials, r *Router, g GatewaySpec) error {
	if !c.IsAdmin() && (g.EnableSNAT != nil || g.FixedIPs != nil) {
		return forbidden("rule:update_router:external_gateway_info:enable_snat is disallowed by policy")
	}
	if g.Clear {
		if r.Gateway == nil {
			return nil
		}
		fips, err := store.List[FloatingIP](tx, kindFloatingIP, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, f := range fips {
			if f.RouterID == r.ID {
				return conflict("RouterExternalGatewayInUseByFloatingIp", "Gateway cannot be updated for router %s, since a gateway to external network %s is required by one or more floating IPs.", r.ID, r.Gateway.NetworkID)
			}
		}
		if p, err := store.Get[Port](tx, kindPort, r.Gateway.PortID); err == nil {
			if err := s.deletePortTx(tx, p); err != nil {
				return err
			}
		}
		r.Gateway = nil
		return nil
	}
	n, err := store.Get[Network](tx, kindNetwork, g.NetworkID)
	if isNotFound(err) || err == nil && !n.External && !c.IsAdmin() && n.ProjectID != c.ProjectID && !n.Shared {
		return notFound("NetworkNotFound", "Network", g.NetworkID)
	}
	if err != nil {
		return err
	}
	if !n.External {
		return badRequest("Bad router request: Network %s is not an external network.", g.NetworkID)
	}
	snat := true
	if r.Gateway != nil {
		snat = r.Gateway.EnableSNAT
	}
	if g.EnableSNAT != nil {
		snat = *g.EnableSNAT
	}
	if r.Gateway != nil && r.Gateway.NetworkID == n.ID && g.FixedIPs == nil {
		r.Gateway.EnableSNAT = snat
		return nil
	}
	if r.Gateway != nil {
		if p, err := store.Get[Port](tx, kindPort, r.Gateway.PortID); err == nil {
			if err := s.deletePortTx(tx, p); err != nil {
				return err
			}
		}
	}
	ps := newPools(tx)
	p, err := s.createPortTx(tx, c, ps, n, "", PortSpec{NetworkID: n.ID, DeviceID: &r.ID, DeviceOwner: ptr(OwnerRouterGateway), FixedIPs: g.FixedIPs, system: true})
	if err != nil {
		return err
	}
	if err := ps.flush(); err != nil {
		return err
	}
	r.Gateway = &GatewayInfo{NetworkID: n.ID, EnableSNAT: snat, ExternalFixedIPs: p.FixedIPs, PortID: p.ID}
	return nil
}

func ptr[T any](v T) *T { return &v }

// CreateRouter creates a router, with its gateway leg if asked.
func (s *Service) CreateRouter(ctx context.Context, spec RouterSpec) (*Router, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	project, err := ownerFor(c, spec.ProjectID, spec.TenantID)
	if err != nil {
		return nil, err
	}
	if !c.IsAdmin() && (spec.Distributed != nil || spec.HA != nil) {
		return nil, forbidden("rule:create_router:distributed is disallowed by policy")
	}
	r := &Router{Meta: s.newMeta(project, str(spec.Name), str(spec.Description)), AdminStateUp: boolOr(spec.AdminStateUp, true),
		Status: StatusActive, Routes: []Route{}, Distributed: boolOr(spec.Distributed, false), HA: boolOr(spec.HA, false), AZHints: orEmpty(spec.AZHints)}
	if spec.Tags != nil {
		r.Tags = spec.Tags
	}
	err = s.write(ctx, func(tx store.Tx) error {
		if err := s.charge(tx, project, "router", 1); err != nil {
			return err
		}
		if spec.Gateway.Set {
			if err := s.setGateway(tx, c, r, spec.Gateway); err != nil {
				return err
			}
		}
		return put(tx, kindRouter, project, r, nil, true)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// GetRouter returns a visible router.
func (s *Service) GetRouter(ctx context.Context, id string) (*Router, error) {
	var r *Router
	err := s.read(ctx, func(tx store.ReadTx) error {
		var err error
		r, err = s.getRouter(ctx, tx, id)
		return err
	})
	return r, err
}

// ListRouters returns the visible routers.
func (s *Service) ListRouters(ctx context.Context) ([]Router, error) {
	return listVisible(ctx, s, kindRouter, func(c *policy.Credentials, r *Router) bool { return visible(c, r.ProjectID) })
}

// interfaceSubnets returns the subnets the router has legs on.
func interfaceSubnets(tx store.ReadTx, routerID string) ([]Subnet, error) {
	ports, err := routerPorts(tx, routerID)
	if err != nil {
		return nil, err
	}
	var out []Subnet
	for _, p := range ports {
		if p.DeviceOwner != OwnerRouterInterface {
			continue
		}
		for _, ip := range p.FixedIPs {
			if sn, err := store.Get[Subnet](tx, kindSubnet, ip.SubnetID); err == nil {
				out = append(out, *sn)
			}
		}
	}
	return out, nil
}

func validateRouterRoutes(tx store.ReadTx, r *Router, routes []Route) error {
	if err := validateRoutes(routes, 0); err != nil {
		return err
	}
	subnets, err := interfaceSubnets(tx, r.ID)
	if err != nil {
		return err
	}
	for _, rt := range routes {
		hop := netip.MustParseAddr(rt.NextHop)
		ok := false
		for _, sn := range subnets {
			if netip.MustParsePrefix(sn.CIDR).Contains(hop) {
				ok = true
			}
		}
		if !ok {
			return withType(badRequest("Invalid format for routes: %v, the nexthop is not connected with router", routes), "InvalidRoutes")
		}
	}
	return nil
}

// UpdateRouter changes a router, its gateway or its static routes.
func (s *Service) UpdateRouter(ctx context.Context, id string, spec RouterSpec) (*Router, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var r *Router
	err = s.write(ctx, func(tx store.Tx) error {
		var err error
		if r, err = s.getRouter(ctx, tx, id); err != nil {
			return err
		}
		if !canWrite(c, r.ProjectID) {
			return forbidden("rule:update_router is disallowed by policy")
		}
		if err := s.touch(&r.Meta, spec.IfRevision); err != nil {
			return err
		}
		if spec.Name != nil {
			r.Name = *spec.Name
		}
		if spec.Description != nil {
			r.Description = *spec.Description
		}
		if spec.AdminStateUp != nil {
			r.AdminStateUp = *spec.AdminStateUp
		}
		if spec.Distributed != nil || spec.HA != nil {
			if !c.IsAdmin() {
				return forbidden("rule:update_router:distributed is disallowed by policy")
			}
			r.Distributed, r.HA = boolOr(spec.Distributed, r.Distributed), boolOr(spec.HA, r.HA)
		}
		if spec.Routes.Set {
			if err := validateRouterRoutes(tx, r, spec.Routes.Routes); err != nil {
				return err
			}
			r.Routes = orEmpty(spec.Routes.Routes)
		}
		if spec.Gateway.Set {
			if err := s.setGateway(tx, c, r, spec.Gateway); err != nil {
				return err
			}
		}
		return put(tx, kindRouter, r.ProjectID, r, nil, false)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// ChangeRoutes adds or removes static routes atomically (extraroute-atomic).
func (s *Service) ChangeRoutes(ctx context.Context, id string, routes []Route, add bool) (*Router, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var r *Router
	err = s.write(ctx, func(tx store.Tx) error {
		var err error
		if r, err = s.getRouter(ctx, tx, id); err != nil {
			return err
		}
		if !canWrite(c, r.ProjectID) {
			return forbidden("rule:update_router is disallowed by policy")
		}
		next := slices.Clone(r.Routes)
		if add {
			if err := validateRouterRoutes(tx, r, routes); err != nil {
				return err
			}
			for _, rt := range routes {
				if !slices.Contains(next, rt) {
					next = append(next, rt)
				}
			}
		} else {
			next = slices.DeleteFunc(next, func(rt Route) bool { return slices.Contains(routes, rt) })
		}
		if err := s.touch(&r.Meta, nil); err != nil {
			return err
		}
		r.Routes = orEmpty(next)
		return put(tx, kindRouter, r.ProjectID, r, nil, false)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// AddInterface attaches a subnet (through a new port holding its gateway
// IP) or an existing port to the router.
func (s *Service) AddInterface(ctx context.Context, id, subnetID, portID string) (*InterfaceInfo, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if (subnetID == "") == (portID == "") {
		return nil, badRequest("Bad router request: Either subnet_id or port_id must be specified.")
	}
	var info *InterfaceInfo
	err = s.write(ctx, func(tx store.Tx) error {
		r, err := s.getRouter(ctx, tx, id)
		if err != nil {
			return err
		}
		if !canWrite(c, r.ProjectID) {
			return forbidden("rule:add_router_interface is disallowed by policy")
		}
		existing, err := interfaceSubnets(tx, r.ID)
		if err != nil {
			return err
		}
		overlap := func(sn *Subnet) error {
			p := netip.MustParsePrefix(sn.CIDR)
			for _, o := range existing {
				if o.ID == sn.ID {
					return badRequest("Bad router request: Router already has a port on subnet %s.", sn.ID)
				}
				if netip.MustParsePrefix(o.CIDR).Overlaps(p) {
					return badRequest("Bad router request: Cidr %s of subnet %s overlaps with cidr %s of subnet %s.", sn.CIDR, sn.ID, o.CIDR, o.ID)
				}
			}
			return nil
		}
		var p *Port
		if subnetID != "" {
			sn, n, err := s.getSubnet(ctx, tx, subnetID)
			if err != nil {
				return err
			}
			if sn.GatewayIP == "" {
				return badRequest("Bad router request: Subnet %s does not have a gateway IP.", sn.ID)
			}
			if err := overlap(sn); err != nil {
				return err
			}
			ps := newPools(tx)
			p, err = s.createPortTx(tx, c, ps, n, r.ProjectID, PortSpec{NetworkID: n.ID, DeviceID: &r.ID, DeviceOwner: ptr(OwnerRouterInterface),
				FixedIPs: &[]FixedIP{{SubnetID: sn.ID, IPAddress: sn.GatewayIP}}})
			if err != nil {
				return err
			}
			if err := ps.flush(); err != nil {
				return err
			}
		} else {
			if p, err = s.getPort(ctx, tx, portID); err != nil {
				return err
			}
			if p.DeviceID != "" || p.DeviceOwner != "" && p.DeviceOwner != OwnerRouterInterface {
				return conflict("PortInUse", "Unable to complete operation on port %s for network %s. Port already has an attached device %s.", p.ID, p.NetworkID, p.DeviceID)
			}
			if len(p.FixedIPs) == 0 {
				return badRequest("Bad router request: Router port must have at least one fixed IP.")
			}
			for _, ip := range p.FixedIPs {
				sn, err := store.Get[Subnet](tx, kindSubnet, ip.SubnetID)
				if err != nil {
					return err
				}
				if err := overlap(sn); err != nil {
					return err
				}
			}
			p.DeviceID, p.DeviceOwner, p.SecurityGroups = r.ID, OwnerRouterInterface, []string{}
			if err := s.touch(&p.Meta, nil); err != nil {
				return err
			}
			if err := put(tx, kindPort, p.NetworkID, p, portUnique(p), false); err != nil {
				return err
			}
		}
		info = interfaceInfo(r, p)
		return s.bumpRouter(tx, r)
	})
	return info, err
}

func (s *Service) bumpRouter(tx store.Tx, r *Router) error {
	if err := s.touch(&r.Meta, nil); err != nil {
		return err
	}
	return put(tx, kindRouter, r.ProjectID, r, nil, false)
}

func interfaceInfo(r *Router, p *Port) *InterfaceInfo {
	info := &InterfaceInfo{RouterID: r.ID, PortID: p.ID, NetworkID: p.NetworkID, ProjectID: r.ProjectID, SubnetIDs: []string{}}
	for _, ip := range p.FixedIPs {
		info.SubnetIDs = append(info.SubnetIDs, ip.SubnetID)
	}
	if len(info.SubnetIDs) > 0 {
		info.SubnetID = info.SubnetIDs[0]
	}
	return info
}

// RemoveInterface detaches a subnet or port from the router.
func (s *Service) RemoveInterface(ctx context.Context, id, subnetID, portID string) (*InterfaceInfo, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if subnetID == "" && portID == "" {
		return nil, badRequest("Bad router request: Either subnet_id or port_id must be specified.")
	}
	var info *InterfaceInfo
	err = s.write(ctx, func(tx store.Tx) error {
		r, err := s.getRouter(ctx, tx, id)
		if err != nil {
			return err
		}
		if !canWrite(c, r.ProjectID) {
			return forbidden("rule:remove_router_interface is disallowed by policy")
		}
		ports, err := routerPorts(tx, r.ID)
		if err != nil {
			return err
		}
		var leg *Port
		for i := range ports {
			p := &ports[i]
			if p.DeviceOwner != OwnerRouterInterface {
				continue
			}
			if portID != "" && p.ID == portID {
				leg = p
			}
			if portID == "" && slices.ContainsFunc(p.FixedIPs, func(ip FixedIP) bool { return ip.SubnetID == subnetID }) {
				leg = p
			}
		}
		if leg == nil {
			if portID != "" {
				return notFound("RouterInterfaceNotFound", "Router "+id+" does not have an interface with id", portID)
			}
			return notFound("RouterInterfaceNotFoundForSubnet", "Router "+id+" has no interface on subnet", subnetID)
		}
		if subnetID != "" && !slices.ContainsFunc(leg.FixedIPs, func(ip FixedIP) bool { return ip.SubnetID == subnetID }) {
			return conflict("SubnetMismatchForPort", "Subnet %s does not match with port %s.", subnetID, leg.ID)
		}
		// Routes and floating IPs that need the leg keep it.
		for _, ip := range leg.FixedIPs {
			sn, err := store.Get[Subnet](tx, kindSubnet, ip.SubnetID)
			if err != nil {
				continue
			}
			pr := netip.MustParsePrefix(sn.CIDR)
			for _, rt := range r.Routes {
				if pr.Contains(netip.MustParseAddr(rt.NextHop)) {
					return conflict("RouterInterfaceInUseByRoute", "Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more routes.", sn.ID, r.ID)
				}
			}
			fips, err := store.List[FloatingIP](tx, kindFloatingIP, store.ListOptions{})
			if err != nil {
				return err
			}
			for _, f := range fips {
				if f.RouterID == r.ID && f.FixedIPAddress != "" && pr.Contains(netip.MustParseAddr(f.FixedIPAddress)) {
					return conflict("RouterInterfaceInUseByFloatingIP", "Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more floating IPs.", sn.ID, r.ID)
				}
			}
		}
		info = interfaceInfo(r, leg)
		if err := s.deletePortTx(tx, leg); err != nil {
			return err
		}
		return s.bumpRouter(tx, r)
	})
	return info, err
}

// DeleteRouter deletes a router without interfaces (RouterInUse otherwise),
// dropping its gateway leg.
func (s *Service) DeleteRouter(ctx context.Context, id string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		r, err := s.getRouter(ctx, tx, id)
		if err != nil {
			return err
		}
		if !canWrite(c, r.ProjectID) {
			return forbidden("rule:delete_router is disallowed by policy")
		}
		ports, err := routerPorts(tx, r.ID)
		if err != nil {
			return err
		}
		for _, p := range ports {
			if p.DeviceOwner == OwnerRouterInterface {
				return conflict("RouterInUse", "Router %s still has ports", id)
			}
		}
		fips, err := store.List[FloatingIP](tx, kindFloatingIP, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, f := range fips {
			if f.RouterID == id {
				return conflict("RouterInUse", "Router %s still has floating IPs associated", id)
			}
		}
		for i := range ports {
			if err := s.deletePortTx(tx, &ports[i]); err != nil {
				return err
			}
		}
		if err := s.charge(tx, r.ProjectID, "router", -1); err != nil {
			return err
		}
		return tx.Delete(kindRouter, id)
	})
}
