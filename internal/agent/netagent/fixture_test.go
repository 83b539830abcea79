package netagent

import "github.com/nubo-cloud/nubo/internal/hostapi"

// IDs of the test state. Short IDs keep device names readable: the tap of
// "vm1-port" is "tapvm1port".
const (
	netInt, netExt       = "net-int", "net-ext"
	subInt, subExt       = "sub-int", "sub-ext"
	portVM1, portVM2     = "vm1-port", "vm2-port"
	portDHCP, portQR     = "dhcp-port", "qr-port"
	portQG               = "qg-port"
	routerID, sgWeb      = "router-1", "sg-web"
	serverVM1, serverVM2 = "3f2a9c1e-0000-4000-8000-000000000001", "8b5e0d2a-0000-4000-8000-000000000002"
	macVM1, macVM2       = "fa:16:3e:00:00:01", "fa:16:3e:00:00:02"
	fipVM1               = "172.24.4.100"
)

func intp(v int) *int { return &v }

// testState is one network node that also runs two servers: a vxlan
// tenant network with DHCP behind a router whose gateway is on the flat
// external network 172.24.4.0/24, and a floating IP for vm1.
func testState() *hostapi.State {
	fixed := func(sub, ip string) []hostapi.FixedIP { return []hostapi.FixedIP{{SubnetID: sub, IPAddress: ip}} }
	return &hostapi.State{
		Revision: 7, HostID: "host-1",
		Networks: []hostapi.Network{
			{ID: netInt, Type: "vxlan", SegmentationID: 1001, MTU: 1450, Remotes: []string{"192.0.2.2"},
				Subnets: []hostapi.Subnet{{ID: subInt, IPVersion: 4, CIDR: "10.0.0.0/24", GatewayIP: "10.0.0.1",
					EnableDHCP: true, DNS: []string{"10.0.0.3"}}}},
			{ID: netExt, Type: "flat", MTU: 1500, External: true,
				Subnets: []hostapi.Subnet{{ID: subExt, IPVersion: 4, CIDR: "172.24.4.0/24", GatewayIP: "172.24.4.1"}}},
		},
		Ports: []hostapi.Port{
			{ID: portVM1, NetworkID: netInt, MAC: macVM1, DeviceID: serverVM1, DeviceOwner: "compute:nova",
				AdminStateUp: true, FixedIPs: fixed(subInt, "10.0.0.11"), PortSecurity: true, SecurityGroups: []string{sgWeb}},
			{ID: portVM2, NetworkID: netInt, MAC: macVM2, DeviceID: serverVM2, DeviceOwner: "compute:nova",
				AdminStateUp: true, FixedIPs: fixed(subInt, "10.0.0.12"), PortSecurity: true, SecurityGroups: []string{sgWeb}},
			{ID: portDHCP, NetworkID: netInt, MAC: "fa:16:3e:00:00:0a", DeviceID: "dhcp", DeviceOwner: "network:dhcp",
				AdminStateUp: true, FixedIPs: fixed(subInt, "10.0.0.2")},
			{ID: portQR, NetworkID: netInt, MAC: "fa:16:3e:00:00:0b", DeviceID: routerID, DeviceOwner: "network:router_interface",
				AdminStateUp: true, FixedIPs: fixed(subInt, "10.0.0.1")},
			{ID: portQG, NetworkID: netExt, MAC: "fa:16:3e:00:00:0c", DeviceID: routerID, DeviceOwner: "network:router_gateway",
				AdminStateUp: true, FixedIPs: fixed(subExt, "172.24.4.10")},
		},
		SecurityGroups: []hostapi.SecurityGroup{{
			ID: sgWeb, Members: []string{"10.0.0.11", "10.0.0.12"},
			Rules: []hostapi.Rule{
				{ID: "r-eg4", Direction: "egress", EtherType: "IPv4"},
				{ID: "r-eg6", Direction: "egress", EtherType: "IPv6"},
				{ID: "r-web", Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortRangeMin: intp(8080), PortRangeMax: intp(8080), RemoteIPPrefix: "0.0.0.0/0"},
				{ID: "r-grp", Direction: "ingress", EtherType: "IPv4", RemoteGroupID: sgWeb},
			},
		}},
		Routers: []hostapi.Router{{
			ID: routerID, AdminStateUp: true, GatewayPortID: portQG, EnableSNAT: true,
			InterfacePortIDs: []string{portQR},
			FloatingIPs:      []hostapi.FloatingIP{{ID: "fip-1", External: fipVM1, Internal: "10.0.0.11", PortID: portVM1}},
		}},
		DHCP: []hostapi.DHCP{{
			NetworkID: netInt, PortID: portDHCP,
			Leases: []hostapi.Lease{
				{PortID: portVM1, MAC: macVM1, IP: "10.0.0.11", SubnetID: subInt, Hostname: "vm1"},
				{PortID: portVM2, MAC: macVM2, IP: "10.0.0.12", SubnetID: subInt, Hostname: "vm2"},
			},
		}},
	}
}
