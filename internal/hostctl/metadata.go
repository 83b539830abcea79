package hostctl

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/hostapi"
	"github.com/nubo-cloud/nubo/internal/network"
)

// DHCPDomain is appended to a server's hostname in meta_data.json, as
// Nova's [api] dhcp_domain (default "novalocal").
const DHCPDomain = "novalocal"

// metaData is OpenStack's meta_data.json.
type metaData struct {
	UUID             string            `json:"uuid"`
	Name             string            `json:"name"`
	Hostname         string            `json:"hostname"`
	ProjectID        string            `json:"project_id"`
	AvailabilityZone string            `json:"availability_zone"`
	LaunchIndex      int               `json:"launch_index"`
	PublicKeys       map[string]string `json:"public_keys,omitempty"`
	Keys             []metaKey         `json:"keys,omitempty"`
	Meta             map[string]string `json:"meta,omitempty"`
	Devices          []any             `json:"devices"`
	RandomSeed       string            `json:"random_seed,omitempty"`
}

type metaKey struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Data string `json:"data"`
}

// networkData is OpenStack's network_data.json.
type networkData struct {
	Links    []ndLink    `json:"links"`
	Networks []ndNetwork `json:"networks"`
	Services []ndService `json:"services"`
}

type ndLink struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	MAC  string `json:"ethernet_mac_address"`
	MTU  int    `json:"mtu,omitempty"`
	VIF  string `json:"vif_id"`
}

type ndNetwork struct {
	ID        string      `json:"id"`
	Type      string      `json:"type"`
	Link      string      `json:"link"`
	NetworkID string      `json:"network_id"`
	IPAddress string      `json:"ip_address,omitempty"`
	Netmask   string      `json:"netmask,omitempty"`
	Routes    []ndRoute   `json:"routes"`
	Services  []ndService `json:"services"`
}

type ndRoute struct {
	Network string `json:"network"`
	Netmask string `json:"netmask"`
	Gateway string `json:"gateway"`
}

type ndService struct {
	Type    string `json:"type"`
	Address string `json:"address"`
}

// Metadata returns a server's metadata documents, found by ID or by the
// network and fixed IP a request came from.
func (c *Control) Metadata(ctx context.Context, q hostapi.MetadataQuery) (*hostapi.Metadata, error) {
	v, err := readView(ctx, c.st)
	if err != nil {
		return nil, err
	}
	sv := v.findServer(q)
	if sv == nil {
		return nil, hostapi.ErrNotFound
	}
	return v.metadata(sv)
}

// findServer resolves a metadata query to a server that is not deleted.
func (v *view) findServer(q hostapi.MetadataQuery) *compute.Server {
	var sv *compute.Server
	switch {
	case q.ServerID != "":
		sv = v.serverByID[q.ServerID]
	case q.NetworkID != "" && q.Address != "":
		want, err := netip.ParseAddr(q.Address)
		if err != nil {
			return nil
		}
	ports:
		for _, p := range v.netPorts[q.NetworkID] {
			for _, ip := range p.FixedIPs {
				if a, err := netip.ParseAddr(ip.IPAddress); err == nil && a == want.Unmap() {
					sv = v.serverByID[p.DeviceID]
					break ports
				}
			}
		}
	}
	if sv == nil || sv.Deleted {
		return nil
	}
	return sv
}

// serverPorts returns a server's ports in NIC order.
func (v *view) serverPorts(sv *compute.Server) []*network.Port {
	var out []*network.Port
	for _, sp := range sv.Ports {
		if p := v.portByID[sp.ID]; p != nil {
			out = append(out, p)
		}
	}
	for i := range v.topo.Ports {
		if p := &v.topo.Ports[i]; p.DeviceID == sv.ID && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func (v *view) metadata(sv *compute.Server) (*hostapi.Metadata, error) {
	hostname := sv.Hostname
	if hostname == "" {
		hostname = "server-" + sv.ID
	}
	md := metaData{UUID: sv.ID, Name: sv.Name, Hostname: hostname + "." + DHCPDomain, ProjectID: sv.ProjectID,
		AvailabilityZone: sv.AvailabilityZone, LaunchIndex: sv.LaunchIndex, Meta: sv.Metadata, Devices: []any{}}
	if md.AvailabilityZone == "" {
		md.AvailabilityZone = compute.DefaultZone
	}
	if sv.KeyName != nil && sv.KeyData != "" {
		typ := compute.KeypairSSH
		if strings.HasPrefix(strings.TrimSpace(sv.KeyData), "-----BEGIN CERTIFICATE") {
			typ = compute.KeypairX509
		}
		md.PublicKeys = map[string]string{*sv.KeyName: sv.KeyData}
		md.Keys = []metaKey{{Name: *sv.KeyName, Type: typ, Data: sv.KeyData}}
	}
	seed := make([]byte, 512)
	if _, err := rand.Read(seed); err == nil {
		md.RandomSeed = base64.StdEncoding.EncodeToString(seed)
	}
	mdj, err := json.Marshal(md)
	if err != nil {
		return nil, err
	}
	ndj, err := json.Marshal(v.networkData(sv))
	if err != nil {
		return nil, err
	}
	out := &hostapi.Metadata{ServerID: sv.ID, MetaData: mdj, NetworkData: ndj, VendorData: json.RawMessage(`{}`)}
	if sv.UserData != nil {
		if out.UserData, err = base64.StdEncoding.DecodeString(*sv.UserData); err != nil {
			return nil, fmt.Errorf("hostctl: server %s: user_data is not base64: %w", sv.ID, err)
		}
	}
	return out, nil
}

// LinkName is the tap device name of a port ("tap" and the first 11
// characters of its ID), what network_data.json calls the link.
func LinkName(portID string) string {
	if len(portID) > 11 {
		portID = portID[:11]
	}
	return "tap" + portID
}

// networkData is the server's network_data.json: a link per port, a
// network per fixed IP, the subnets' DNS servers as services.
func (v *view) networkData(sv *compute.Server) networkData {
	nd := networkData{Links: []ndLink{}, Networks: []ndNetwork{}, Services: []ndService{}}
	for _, p := range v.serverPorts(sv) {
		link := ndLink{ID: LinkName(p.ID), Type: "phy", MAC: p.MACAddress, VIF: p.ID}
		if n := v.netByID[p.NetworkID]; n != nil {
			link.MTU = n.MTU
		}
		nd.Links = append(nd.Links, link)
		for _, ip := range p.FixedIPs {
			sn := v.subnetByID[ip.SubnetID]
			if sn == nil {
				continue
			}
			nw := ndNetwork{ID: fmt.Sprintf("network%d", len(nd.Networks)), Link: link.ID, NetworkID: p.NetworkID,
				IPAddress: ip.IPAddress, Routes: []ndRoute{}, Services: []ndService{}}
			switch {
			case sn.IPVersion == 4 && sn.EnableDHCP:
				nw.Type = "ipv4_dhcp"
			case sn.IPVersion == 4:
				nw.Type = "ipv4"
			case sn.IPv6AddressMode != "":
				nw.Type = "ipv6_" + sn.IPv6AddressMode
			default:
				nw.Type = "ipv6"
			}
			if pr, err := netip.ParsePrefix(sn.CIDR); err == nil {
				nw.Netmask = netmask(pr.Bits(), sn.IPVersion)
			}
			if sn.GatewayIP != "" {
				zero := "0.0.0.0"
				if sn.IPVersion == 6 {
					zero = "::"
				}
				nw.Routes = append(nw.Routes, ndRoute{Network: zero, Netmask: zero, Gateway: sn.GatewayIP})
			}
			for _, r := range sn.HostRoutes {
				if pr, err := netip.ParsePrefix(r.Destination); err == nil {
					nw.Routes = append(nw.Routes, ndRoute{Network: pr.Masked().Addr().String(), Netmask: netmask(pr.Bits(), sn.IPVersion), Gateway: r.NextHop})
				}
			}
			for _, d := range sn.DNSNameservers {
				s := ndService{Type: "dns", Address: d}
				nw.Services = append(nw.Services, s)
				if !slices.Contains(nd.Services, s) {
					nd.Services = append(nd.Services, s)
				}
			}
			nd.Networks = append(nd.Networks, nw)
		}
	}
	return nd
}

// netmask writes a prefix length as a mask (255.255.255.0, ffff:ffff::).
func netmask(bits, version int) string {
	size := 32
	if version == 6 {
		size = 128
	}
	m := net.IP(net.CIDRMask(bits, size))
	return m.String()
}
