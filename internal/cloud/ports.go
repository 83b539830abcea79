package cloud

import (
	"context"
	"net/netip"

	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/network"
	"github.com/nubo-cloud/nubo/internal/policy"
)

// ports is compute.Ports over the networking service: it translates types
// and turns Neutron faults into the ones Nova shows (Compute maps a not
// found network or port on create to 400 itself).
type ports struct{ net *network.Service }

var _ compute.Ports = ports{}

// asAdmin is the caller's project with the admin role: binding fields
// (device_owner, binding:host_id) are Nova's to set, not the user's.
func asAdmin(ctx context.Context) context.Context {
	c := policy.FromContext(ctx)
	nc := &policy.Credentials{UserID: "nubo-compute", UserName: "nova", Roles: []string{policy.RoleAdmin, policy.RoleMember, policy.RoleReader}}
	if c != nil {
		nc.ProjectID, nc.ProjectName, nc.ProjectDomainID = c.ProjectID, c.ProjectName, c.ProjectDomainID
	}
	return policy.NewContext(ctx, nc)
}

func (a ports) CreatePort(ctx context.Context, req compute.PortRequest) (compute.Port, error) {
	spec := network.PortSpec{NetworkID: req.NetworkID, ProjectID: req.ProjectID}
	if req.FixedIP != "" {
		spec.FixedIPs = &[]network.FixedIP{{IPAddress: req.FixedIP}}
	}
	if len(req.SecurityGroups) > 0 {
		sgs := append([]string(nil), req.SecurityGroups...)
		spec.SecurityGroups = &sgs
	}
	p, err := a.net.CreatePort(ctx, spec)
	if err != nil {
		fe := fault.As(err)
		switch {
		case fe == nil:
			return compute.Port{}, err
		case fe.Type == "NetworkNotFound":
			return compute.Port{}, fault.New(fault.NotFound, "Network %s could not be found.", req.NetworkID)
		case fe.Type == "IpAddressAlreadyAllocated" || fe.Type == "IpAddressInUse":
			return compute.Port{}, &fault.Error{Kind: fault.Conflict, Type: "FixedIpAlreadyInUse", Err: err,
				Msg: "Fixed IP address " + req.FixedIP + " is already in use on instance."}
		case fe.Type == "OverQuota":
			return compute.Port{}, fault.Wrap(fault.Forbidden, err, "Maximum number of ports exceeded")
		case fe.Type == "IpAddressGenerationFailure":
			return compute.Port{}, fault.Wrap(fault.BadRequest, err, "No more IP addresses available on network "+req.NetworkID+".")
		case fe.Kind == fault.BadRequest && req.FixedIP != "":
			return compute.Port{}, fault.Wrap(fault.BadRequest, err, "Fixed IP "+req.FixedIP+" is not a valid ip address for network "+req.NetworkID+".")
		case fe.Type == "SecurityGroupNotFound":
			return compute.Port{}, fault.Wrap(fault.BadRequest, err, fe.Msg)
		}
		return compute.Port{}, err
	}
	return a.port(ctx, p), nil
}

func (a ports) GetPort(ctx context.Context, id string) (compute.Port, error) {
	p, err := a.net.GetPort(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return compute.Port{}, fault.New(fault.NotFound, "Port id %s could not be found.", id)
	}
	if err != nil {
		return compute.Port{}, err
	}
	return a.port(ctx, p), nil
}

func (a ports) BindPort(ctx context.Context, portID, serverID, zone, host string) error {
	// The caller must see the port; the binding itself is Nova's.
	if _, err := a.net.GetPort(ctx, portID); err != nil {
		if fault.Is(err, fault.NotFound) {
			return fault.New(fault.NotFound, "Port id %s could not be found.", portID)
		}
		return err
	}
	owner := ""
	if serverID != "" {
		owner = "compute:" + zone
	}
	_, err := a.net.UpdatePort(asAdmin(ctx), portID, network.PortSpec{DeviceID: &serverID, DeviceOwner: &owner, HostID: &host})
	return err
}

func (a ports) DeletePort(ctx context.Context, id string) error {
	err := a.net.DeletePort(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return nil
	}
	return err
}

func (a ports) ListServerPorts(ctx context.Context, serverID string) ([]compute.Port, error) {
	all, err := a.net.ListPorts(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []compute.Port
	for i := range all {
		if all[i].DeviceID == serverID {
			out = append(out, a.port(ctx, &all[i]))
		}
	}
	return out, nil
}

// AutoNetwork is Nova's choice for networks "auto": the one network the
// project owns or shares (external ones excepted); several are 409
// NetworkAmbiguous, none 400.
func (a ports) AutoNetwork(ctx context.Context) (string, error) {
	nets, err := a.net.ListNetworks(ctx)
	if err != nil {
		return "", err
	}
	c := policy.FromContext(ctx)
	var usable []string
	for _, n := range nets {
		if n.External || !n.AdminStateUp {
			continue
		}
		if n.Shared || c != nil && n.ProjectID == c.ProjectID {
			usable = append(usable, n.ID)
		}
	}
	switch len(usable) {
	case 1:
		return usable[0], nil
	case 0:
		project := ""
		if c != nil {
			project = c.ProjectID
		}
		return "", fault.New(fault.BadRequest, "Unable to automatically allocate a network for project %s", project)
	}
	return "", fault.New(fault.Conflict, "Multiple possible networks found, use a Network ID to be more specific.")
}

func (a ports) SecurityGroupID(ctx context.Context, nameOrID string) (string, error) {
	groups, _, err := a.net.ListSecurityGroups(ctx)
	if err != nil {
		return "", err
	}
	c := policy.FromContext(ctx)
	var found []string
	for _, g := range groups {
		if g.ID == nameOrID {
			return g.ID, nil
		}
		if g.Name == nameOrID && (c == nil || g.ProjectID == c.ProjectID) {
			found = append(found, g.ID)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fault.New(fault.NotFound, "Security group %s not found.", nameOrID)
	}
	return "", fault.New(fault.Conflict, "Multiple security groups found matching '%s'. Use an ID to be more specific.", nameOrID)
}

// port is p as Compute shows it.
func (a ports) port(ctx context.Context, p *network.Port) compute.Port {
	out := compute.Port{ID: p.ID, NetworkID: p.NetworkID, MAC: p.MACAddress, Status: p.Status, DeviceID: p.DeviceID, FixedIPs: []compute.FixedIP{}}
	if n, err := a.net.GetNetwork(asAdmin(ctx), p.NetworkID); err == nil {
		out.NetworkName = n.Name
	}
	for _, ip := range p.FixedIPs {
		v := 4
		if addr, err := netip.ParseAddr(ip.IPAddress); err == nil && addr.Is6() && !addr.Is4In6() {
			v = 6
		}
		out.FixedIPs = append(out.FixedIPs, compute.FixedIP{SubnetID: ip.SubnetID, IPAddress: ip.IPAddress, Version: v})
	}
	return out
}
