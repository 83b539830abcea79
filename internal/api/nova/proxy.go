package nova

import (
	"context"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/image"
)

// Nova's proxy APIs (os-security-groups, os-floating-ips, os-networks, …)
// forward to the networking and image services. This package does not
// import them: it declares what it needs (Proxy) and internal/cloud
// adapts the services to it (internal/cloud/novaproxy.go).

// ProxySecurityGroup is a networking security group as Nova shows it.
type ProxySecurityGroup struct {
	ID, Name, Description, ProjectID string
	Rules                            []ProxySecurityGroupRule
}

// ProxySecurityGroupRule is a networking security group rule.
type ProxySecurityGroupRule struct {
	ID, GroupID, Direction, EtherType, Protocol string
	PortMin, PortMax                            *int
	RemoteIPPrefix, RemoteGroupID               string
}

// ProxyFloatingIP is a networking floating IP; Port is the bound port's
// device (a server ID when Compute owns the port).
type ProxyFloatingIP struct {
	ID, Address, FixedAddress, PortID, NetworkID, NetworkName, ProjectID string
	DeviceID                                                             string
}

// ProxyNetwork is a networking network.
type ProxyNetwork struct {
	ID, Name, ProjectID string
	External, Shared    bool
}

// ProxyPort is a server's port: its fixed addresses and security groups.
type ProxyPort struct {
	ID, NetworkID    string
	FixedIPs         []string
	SecurityGroupIDs []string
}

// Proxy is what Nova's proxy APIs need from the networking and image
// services. Calls carry the caller's credentials; errors are faults.
type Proxy interface {
	ListSecurityGroups(ctx context.Context) ([]ProxySecurityGroup, error)
	GetSecurityGroup(ctx context.Context, id string) (*ProxySecurityGroup, error)
	CreateSecurityGroup(ctx context.Context, name, description string) (*ProxySecurityGroup, error)
	UpdateSecurityGroup(ctx context.Context, id string, name, description *string) (*ProxySecurityGroup, error)
	DeleteSecurityGroup(ctx context.Context, id string) error
	CreateSecurityGroupRule(ctx context.Context, r ProxySecurityGroupRule) (*ProxySecurityGroupRule, error)
	DeleteSecurityGroupRule(ctx context.Context, id string) error

	ListNetworks(ctx context.Context) ([]ProxyNetwork, error)
	GetNetwork(ctx context.Context, id string) (*ProxyNetwork, error)

	ListFloatingIPs(ctx context.Context) ([]ProxyFloatingIP, error)
	GetFloatingIP(ctx context.Context, id string) (*ProxyFloatingIP, error)
	CreateFloatingIP(ctx context.Context, networkID string) (*ProxyFloatingIP, error)
	// AssociateFloatingIP binds the floating IP to portID/fixedIP; portID
	// "" disassociates it.
	AssociateFloatingIP(ctx context.Context, id, portID, fixedIP string) error
	DeleteFloatingIP(ctx context.Context, id string) error

	// FloatingAddresses returns the floating addresses bound to each of
	// portIDs (for the servers' views: Nova's network info cache shows
	// them next to the fixed ones), whoever owns the floating IPs.
	FloatingAddresses(ctx context.Context, portIDs []string) (map[string][]string, error)

	ServerPorts(ctx context.Context, serverID string) ([]ProxyPort, error)
	SetPortSecurityGroups(ctx context.Context, portID string, groupIDs []string) error

	// SetImageProperties adds or replaces the image's extra properties
	// (replace: the others are removed) and returns the image.
	SetImageProperties(ctx context.Context, id string, props map[string]string, replace bool) (*image.Image, error)
	DeleteImageProperty(ctx context.Context, id, key string) error
}

// Option configures Register.
type Option func(*api)

// WithProxy serves Nova's proxy APIs over p.
func WithProxy(p Proxy) Option { return func(a *api) { a.proxy = p } }

// px returns the proxy or a 503 fault when none is wired.
func (a *api) px() (Proxy, error) {
	if a.proxy == nil {
		return nil, fault.New(fault.Unavailable, "The networking service is not available.")
	}
	return a.proxy, nil
}

// maxProxy bounds the microversions of the deprecated proxy APIs: 2.36
// removed os-security-groups, os-security-group-rules, os-floating-ips,
// os-floating-ip-pools, os-networks, os-tenant-networks and /images.
func beyond(r *http.Request, minor int) error {
	if mv(r).AtLeast(2, minor) {
		return notFoundf("The resource could not be found.")
	}
	return nil
}

// proxied wraps a handler served only below microversion 2.<minor>.
func proxied(minor int, fn apihttp.HandlerFunc) apihttp.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := beyond(r, minor); err != nil {
			return err
		}
		return fn(w, r)
	}
}

// registerLegacy adds the proxy and legacy routes (security groups,
// floating IPs, networks, os-hosts, extensions, image metadata).
func (a *api) registerLegacy(h, hs func(string, apihttp.HandlerFunc)) {
	p := func(m, path string, fn apihttp.HandlerFunc) { h(m+" "+v21+path, proxied(36, fn)) }
	p("GET", "/os-security-groups", a.listSecurityGroups)
	p("POST", "/os-security-groups", a.createSecurityGroup)
	p("GET", "/os-security-groups/{id}", a.getSecurityGroup)
	p("PUT", "/os-security-groups/{id}", a.updateSecurityGroup)
	p("DELETE", "/os-security-groups/{id}", a.deleteSecurityGroup)
	p("POST", "/os-security-group-rules", a.createSecurityGroupRule)
	p("DELETE", "/os-security-group-rules/{id}", a.deleteSecurityGroupRule)
	hs("GET "+v21+"/servers/{id}/os-security-groups", a.listServerSecurityGroups)

	p("GET", "/os-floating-ips", a.listFloatingIPs)
	p("POST", "/os-floating-ips", a.createFloatingIP)
	p("GET", "/os-floating-ips/{id}", a.getFloatingIP)
	p("DELETE", "/os-floating-ips/{id}", a.deleteFloatingIP)
	p("GET", "/os-floating-ip-pools", a.listFloatingIPPools)

	p("GET", "/os-networks", a.listNetworks)
	p("GET", "/os-networks/{id}", a.getNetwork)
	p("POST", "/os-networks", gone)
	p("POST", "/os-networks/add", gone)
	p("DELETE", "/os-networks/{id}", gone)
	p("POST", "/os-networks/{id}/action", gone)
	p("GET", "/os-tenant-networks", a.listTenantNetworks)
	p("GET", "/os-tenant-networks/{id}", a.getTenantNetwork)
	p("POST", "/os-tenant-networks", gone)
	p("DELETE", "/os-tenant-networks/{id}", gone)

	o := func(m, path string, fn apihttp.HandlerFunc) { h(m+" "+v21+path, proxied(43, fn)) }
	o("GET", "/os-hosts", a.listOSHosts)
	o("GET", "/os-hosts/{host}", a.getOSHost)
	o("PUT", "/os-hosts/{host}", a.updateOSHost)
	o("GET", "/os-hosts/{host}/{action}", a.osHostPowerAction)

	h("GET "+v21+"/extensions", a.listExtensions)
	h("GET "+v21+"/extensions/{alias}", a.getExtension)

	m := func(meth, path string, fn apihttp.HandlerFunc) { h(meth+" "+v21+path, proxied(39, fn)) }
	m("GET", "/images/{id}/metadata", a.listImageMetadata)
	m("POST", "/images/{id}/metadata", a.setImageMetadata(false))
	m("PUT", "/images/{id}/metadata", a.setImageMetadata(true))
	m("GET", "/images/{id}/metadata/{key}", a.getImageMetadataItem)
	m("PUT", "/images/{id}/metadata/{key}", a.setImageMetadataItem)
	m("DELETE", "/images/{id}/metadata/{key}", a.deleteImageMetadataItem)
}

// gone is Nova's answer to the nova-network APIs removed in Ussuri.
func gone(w http.ResponseWriter, r *http.Request) error {
	apihttp.WriteJSON(w, http.StatusGone, map[string]faultView{"computeFault": {Code: http.StatusGone, Message: "Gone"}})
	return nil
}
