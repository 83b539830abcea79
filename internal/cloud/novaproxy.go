package cloud

import (
	"context"

	"github.com/nubo-cloud/nubo/internal/api/nova"
	"github.com/nubo-cloud/nubo/internal/image"
	"github.com/nubo-cloud/nubo/internal/network"
)

// novaProxy is nova.Proxy over the networking and image services: Nova's
// proxy APIs (os-security-groups, os-floating-ips, os-networks, image
// metadata) with the caller's credentials. Faults pass through; the nova
// package turns them into Nova's.
type novaProxy struct {
	net    *network.Service
	images *image.Service
}

var _ nova.Proxy = novaProxy{}

func sgRules(rules []network.SecurityGroupRule) []nova.ProxySecurityGroupRule {
	out := make([]nova.ProxySecurityGroupRule, 0, len(rules))
	for i := range rules {
		out = append(out, sgRule(&rules[i]))
	}
	return out
}

func sgRule(r *network.SecurityGroupRule) nova.ProxySecurityGroupRule {
	return nova.ProxySecurityGroupRule{ID: r.ID, GroupID: r.SecurityGroupID, Direction: r.Direction, EtherType: r.EtherType,
		Protocol: r.Protocol, PortMin: r.PortRangeMin, PortMax: r.PortRangeMax, RemoteIPPrefix: r.RemoteIPPrefix, RemoteGroupID: r.RemoteGroupID}
}

func sgGroup(g *network.SecurityGroup, rules []network.SecurityGroupRule) *nova.ProxySecurityGroup {
	return &nova.ProxySecurityGroup{ID: g.ID, Name: g.Name, Description: g.Description, ProjectID: g.ProjectID, Rules: sgRules(rules)}
}

func (p novaProxy) ListSecurityGroups(ctx context.Context) ([]nova.ProxySecurityGroup, error) {
	groups, rules, err := p.net.ListSecurityGroups(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]nova.ProxySecurityGroup, 0, len(groups))
	for i := range groups {
		out = append(out, *sgGroup(&groups[i], rules[groups[i].ID]))
	}
	return out, nil
}

func (p novaProxy) GetSecurityGroup(ctx context.Context, id string) (*nova.ProxySecurityGroup, error) {
	g, rules, err := p.net.GetSecurityGroup(ctx, id)
	if err != nil {
		return nil, err
	}
	return sgGroup(g, rules), nil
}

func (p novaProxy) CreateSecurityGroup(ctx context.Context, name, description string) (*nova.ProxySecurityGroup, error) {
	g, err := p.net.CreateSecurityGroup(ctx, network.SecurityGroupSpec{Name: &name, Description: &description})
	if err != nil {
		return nil, err
	}
	return p.GetSecurityGroup(ctx, g.ID)
}

func (p novaProxy) UpdateSecurityGroup(ctx context.Context, id string, name, description *string) (*nova.ProxySecurityGroup, error) {
	if _, err := p.net.UpdateSecurityGroup(ctx, id, network.SecurityGroupSpec{Name: name, Description: description}); err != nil {
		return nil, err
	}
	return p.GetSecurityGroup(ctx, id)
}

func (p novaProxy) DeleteSecurityGroup(ctx context.Context, id string) error {
	return p.net.DeleteSecurityGroup(ctx, id)
}

func (p novaProxy) CreateSecurityGroupRule(ctx context.Context, r nova.ProxySecurityGroupRule) (*nova.ProxySecurityGroupRule, error) {
	spec := network.RuleSpec{SecurityGroupID: r.GroupID, Direction: r.Direction, EtherType: r.EtherType,
		Protocol: network.Protocol(r.Protocol), PortRangeMin: r.PortMin, PortRangeMax: r.PortMax}
	if r.RemoteIPPrefix != "" {
		spec.RemoteIPPrefix = &r.RemoteIPPrefix
	}
	if r.RemoteGroupID != "" {
		spec.RemoteGroupID = &r.RemoteGroupID
	}
	rule, err := p.net.CreateRule(ctx, spec)
	if err != nil {
		return nil, err
	}
	out := sgRule(rule)
	return &out, nil
}

func (p novaProxy) DeleteSecurityGroupRule(ctx context.Context, id string) error {
	return p.net.DeleteRule(ctx, id)
}

func proxyNetwork(n *network.Network) nova.ProxyNetwork {
	return nova.ProxyNetwork{ID: n.ID, Name: n.Name, ProjectID: n.ProjectID, External: n.External, Shared: n.Shared}
}

func (p novaProxy) ListNetworks(ctx context.Context) ([]nova.ProxyNetwork, error) {
	nets, err := p.net.ListNetworks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]nova.ProxyNetwork, 0, len(nets))
	for i := range nets {
		out = append(out, proxyNetwork(&nets[i]))
	}
	return out, nil
}

func (p novaProxy) GetNetwork(ctx context.Context, id string) (*nova.ProxyNetwork, error) {
	n, err := p.net.GetNetwork(ctx, id)
	if err != nil {
		return nil, err
	}
	out := proxyNetwork(n)
	return &out, nil
}

// floatingIP adds what Nova shows: the pool's name and the port's device.
func (p novaProxy) floatingIP(ctx context.Context, f *network.FloatingIP) nova.ProxyFloatingIP {
	out := nova.ProxyFloatingIP{ID: f.ID, Address: f.FloatingIPAddress, FixedAddress: f.FixedIPAddress, PortID: f.PortID,
		NetworkID: f.FloatingNetworkID, ProjectID: f.ProjectID}
	if n, err := p.net.GetNetwork(asAdmin(ctx), f.FloatingNetworkID); err == nil {
		out.NetworkName = n.Name
	}
	if f.PortID != "" {
		if port, err := p.net.GetPort(asAdmin(ctx), f.PortID); err == nil {
			out.DeviceID = port.DeviceID
		}
	}
	return out
}

func (p novaProxy) ListFloatingIPs(ctx context.Context) ([]nova.ProxyFloatingIP, error) {
	list, err := p.net.ListFloatingIPs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]nova.ProxyFloatingIP, 0, len(list))
	for i := range list {
		out = append(out, p.floatingIP(ctx, &list[i]))
	}
	return out, nil
}

func (p novaProxy) FloatingAddresses(ctx context.Context, portIDs []string) (map[string][]string, error) {
	if len(portIDs) == 0 {
		return nil, nil
	}
	want := make(map[string]bool, len(portIDs))
	for _, id := range portIDs {
		want[id] = true
	}
	list, err := p.net.ListFloatingIPs(asAdmin(ctx))
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, f := range list {
		if f.PortID != "" && want[f.PortID] {
			out[f.PortID] = append(out[f.PortID], f.FloatingIPAddress)
		}
	}
	return out, nil
}

func (p novaProxy) GetFloatingIP(ctx context.Context, id string) (*nova.ProxyFloatingIP, error) {
	f, err := p.net.GetFloatingIP(ctx, id)
	if err != nil {
		return nil, err
	}
	out := p.floatingIP(ctx, f)
	return &out, nil
}

func (p novaProxy) CreateFloatingIP(ctx context.Context, networkID string) (*nova.ProxyFloatingIP, error) {
	f, err := p.net.CreateFloatingIP(ctx, network.FloatingIPSpec{FloatingNetworkID: networkID})
	if err != nil {
		return nil, err
	}
	out := p.floatingIP(ctx, f)
	return &out, nil
}

func (p novaProxy) AssociateFloatingIP(ctx context.Context, id, portID, fixedIP string) error {
	spec := network.FloatingIPSpec{PortID: network.Nullable{Set: true, Null: portID == "", Value: portID}, FixedIPAddress: fixedIP}
	_, err := p.net.UpdateFloatingIP(ctx, id, spec)
	return err
}

func (p novaProxy) DeleteFloatingIP(ctx context.Context, id string) error {
	return p.net.DeleteFloatingIP(ctx, id)
}

func (p novaProxy) ServerPorts(ctx context.Context, serverID string) ([]nova.ProxyPort, error) {
	all, err := p.net.ListPorts(asAdmin(ctx), "")
	if err != nil {
		return nil, err
	}
	var out []nova.ProxyPort
	for i := range all {
		if all[i].DeviceID != serverID {
			continue
		}
		port := nova.ProxyPort{ID: all[i].ID, NetworkID: all[i].NetworkID, SecurityGroupIDs: all[i].SecurityGroups}
		for _, ip := range all[i].FixedIPs {
			port.FixedIPs = append(port.FixedIPs, ip.IPAddress)
		}
		out = append(out, port)
	}
	return out, nil
}

func (p novaProxy) SetPortSecurityGroups(ctx context.Context, portID string, groupIDs []string) error {
	ids := append([]string{}, groupIDs...)
	_, err := p.net.UpdatePort(ctx, portID, network.PortSpec{SecurityGroups: &ids})
	return err
}

func (p novaProxy) SetImageProperties(ctx context.Context, id string, props map[string]string, replace bool) (*image.Image, error) {
	var ops []image.PatchOp
	if replace {
		im, err := p.images.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		for k := range im.Properties {
			if _, keep := props[k]; !keep {
				ops = append(ops, image.PatchOp{Op: "remove", Path: []string{k}})
			}
		}
	}
	for k, v := range props {
		ops = append(ops, image.PatchOp{Op: "add", Path: []string{k}, Value: v})
	}
	return p.images.Update(ctx, id, ops)
}

func (p novaProxy) DeleteImageProperty(ctx context.Context, id, key string) error {
	_, err := p.images.Update(ctx, id, []image.PatchOp{{Op: "remove", Path: []string{key}}})
	return err
}
