package neutron

import (
	"time"

	"github.com/nubo-cloud/nubo/internal/network"
)

const timeFormat = "2006-01-02T15:04:05Z"

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

func tags(t []string) []string {
	if t == nil {
		return []string{}
	}
	return t
}

func meta(v view, m *network.Meta) view {
	v["id"] = m.ID
	v["name"] = m.Name
	v["description"] = m.Description
	v["project_id"] = m.ProjectID
	v["tenant_id"] = m.ProjectID
	v["tags"] = tags(m.Tags)
	v["created_at"] = ts(m.CreatedAt)
	v["updated_at"] = ts(m.UpdatedAt)
	v["revision_number"] = m.Revision
	return v
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func networkView(n *network.Network, subnets []string, azs []string, admin bool) view {
	v := meta(view{}, &n.Meta)
	if subnets == nil {
		subnets = []string{}
	}
	v["admin_state_up"] = n.AdminStateUp
	v["status"] = n.Status
	v["subnets"] = subnets
	v["shared"] = n.Shared
	v["router:external"] = n.External
	v["mtu"] = n.MTU
	v["port_security_enabled"] = n.PortSecurityEnabled
	v["availability_zone_hints"] = tags(n.AZHints)
	v["availability_zones"] = azs
	v["ipv4_address_scope"] = nil
	v["ipv6_address_scope"] = nil
	v["l2_adjacency"] = true
	v["is_default"] = n.IsDefault
	v["dns_domain"] = n.DNSDomain
	v["qos_policy_id"] = nil
	if admin {
		v["provider:network_type"] = n.NetworkType
		v["provider:physical_network"] = orNil(n.PhysicalNetwork)
		if n.SegmentationID != nil {
			v["provider:segmentation_id"] = *n.SegmentationID
		} else {
			v["provider:segmentation_id"] = nil
		}
	}
	return v
}

func subnetView(s *network.Subnet) view {
	v := meta(view{}, &s.Meta)
	v["network_id"] = s.NetworkID
	v["ip_version"] = s.IPVersion
	v["cidr"] = s.CIDR
	v["gateway_ip"] = orNil(s.GatewayIP)
	pools := []view{}
	for _, p := range s.AllocationPools {
		pools = append(pools, view{"start": p.Start, "end": p.End})
	}
	v["allocation_pools"] = pools
	routes := []view{}
	for _, r := range s.HostRoutes {
		routes = append(routes, view{"destination": r.Destination, "nexthop": r.NextHop})
	}
	v["host_routes"] = routes
	v["dns_nameservers"] = tags(s.DNSNameservers)
	v["enable_dhcp"] = s.EnableDHCP
	v["ipv6_ra_mode"] = orNil(s.IPv6RAMode)
	v["ipv6_address_mode"] = orNil(s.IPv6AddressMode)
	v["subnetpool_id"] = orNil(s.SubnetPoolID)
	v["service_types"] = tags(s.ServiceTypes)
	v["segment_id"] = nil
	v["dns_publish_fixed_ip"] = false
	return v
}

func fixedIPsView(ips []network.FixedIP) []view {
	out := []view{}
	for _, ip := range ips {
		out = append(out, view{"subnet_id": ip.SubnetID, "ip_address": ip.IPAddress})
	}
	return out
}

func portView(p *network.Port, admin bool) view {
	v := meta(view{}, &p.Meta)
	v["network_id"] = p.NetworkID
	v["mac_address"] = p.MACAddress
	v["admin_state_up"] = p.AdminStateUp
	v["status"] = p.Status
	v["device_id"] = p.DeviceID
	v["device_owner"] = p.DeviceOwner
	v["fixed_ips"] = fixedIPsView(p.FixedIPs)
	pairs := []view{}
	for _, ap := range p.AllowedAddressPairs {
		mac := ap.MACAddress
		if mac == "" {
			mac = p.MACAddress
		}
		pairs = append(pairs, view{"ip_address": ap.IPAddress, "mac_address": mac})
	}
	v["allowed_address_pairs"] = pairs
	opts := p.ExtraDHCPOpts
	if opts == nil {
		opts = []map[string]any{}
	}
	v["extra_dhcp_opts"] = opts
	v["security_groups"] = tags(p.SecurityGroups)
	v["port_security_enabled"] = p.PortSecurityEnabled
	v["dns_name"] = p.DNSName
	v["dns_assignment"] = []view{}
	v["ip_allocation"] = "immediate"
	v["propagate_uplink_status"] = false
	v["qos_policy_id"] = nil
	v["binding:vnic_type"] = p.Binding.VNICType
	if admin {
		v["binding:host_id"] = p.Binding.HostID
		v["binding:vif_type"] = p.Binding.VIFType
		prof := p.Binding.Profile
		if prof == nil {
			prof = map[string]any{}
		}
		v["binding:profile"] = prof
		det := p.Binding.VIFDetails
		if det == nil {
			det = map[string]any{}
		}
		v["binding:vif_details"] = det
	}
	return v
}

func routerView(r *network.Router, azs []string, admin bool) view {
	v := meta(view{}, &r.Meta)
	v["admin_state_up"] = r.AdminStateUp
	v["status"] = r.Status
	if r.Gateway != nil {
		v["external_gateway_info"] = view{"network_id": r.Gateway.NetworkID, "enable_snat": r.Gateway.EnableSNAT,
			"external_fixed_ips": fixedIPsView(r.Gateway.ExternalFixedIPs)}
	} else {
		v["external_gateway_info"] = nil
	}
	routes := []view{}
	for _, rt := range r.Routes {
		routes = append(routes, view{"destination": rt.Destination, "nexthop": rt.NextHop})
	}
	v["routes"] = routes
	v["availability_zone_hints"] = tags(r.AZHints)
	v["availability_zones"] = azs
	v["flavor_id"] = nil
	if admin {
		v["distributed"] = r.Distributed
		v["ha"] = r.HA
	}
	return v
}

func fipView(f *network.FloatingIP) view {
	v := meta(view{}, &f.Meta)
	delete(v, "name")
	v["floating_network_id"] = f.FloatingNetworkID
	v["floating_ip_address"] = f.FloatingIPAddress
	v["fixed_ip_address"] = orNil(f.FixedIPAddress)
	v["port_id"] = orNil(f.PortID)
	v["router_id"] = orNil(f.RouterID)
	v["status"] = f.Status
	v["dns_name"] = f.DNSName
	v["dns_domain"] = f.DNSDomain
	v["qos_policy_id"] = nil
	v["port_forwardings"] = []view{}
	v["port_details"] = nil
	return v
}

func ruleView(r *network.SecurityGroupRule) view {
	v := meta(view{}, &r.Meta)
	delete(v, "name")
	delete(v, "tags")
	v["security_group_id"] = r.SecurityGroupID
	v["direction"] = r.Direction
	v["ethertype"] = r.EtherType
	v["protocol"] = orNil(r.Protocol)
	if r.PortRangeMin != nil {
		v["port_range_min"] = *r.PortRangeMin
	} else {
		v["port_range_min"] = nil
	}
	if r.PortRangeMax != nil {
		v["port_range_max"] = *r.PortRangeMax
	} else {
		v["port_range_max"] = nil
	}
	v["remote_ip_prefix"] = orNil(r.RemoteIPPrefix)
	v["remote_group_id"] = orNil(r.RemoteGroupID)
	v["remote_address_group_id"] = nil
	v["normalized_cidr"] = orNil(r.RemoteIPPrefix)
	return v
}

func sgView(g *network.SecurityGroup, rules []network.SecurityGroupRule) view {
	v := meta(view{}, &g.Meta)
	rs := []view{}
	for i := range rules {
		rs = append(rs, ruleView(&rules[i]))
	}
	v["security_group_rules"] = rs
	v["stateful"] = g.Stateful
	v["shared"] = g.Shared
	return v
}

func poolView(p *network.SubnetPool) view {
	v := meta(view{}, &p.Meta)
	v["prefixes"] = tags(p.Prefixes)
	v["default_prefixlen"] = p.DefaultPrefixLen
	v["min_prefixlen"] = p.MinPrefixLen
	v["max_prefixlen"] = p.MaxPrefixLen
	v["ip_version"] = p.IPVersion
	v["shared"] = p.Shared
	v["is_default"] = p.IsDefault
	if p.DefaultQuota != nil {
		v["default_quota"] = *p.DefaultQuota
	} else {
		v["default_quota"] = nil
	}
	v["address_scope_id"] = orNil(p.AddressScopeID)
	return v
}
