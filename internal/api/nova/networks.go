package nova

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
)

// os-networks and os-tenant-networks (before 2.36), proxied to Networking.
// With nova-network gone Nova shows two real fields (id, label); the others
// are null, and admins see the admin fields (null too). Creating, deleting
// and associating networks is 410 Gone.

var networkFields = []string{"cidr", "netmask", "gateway", "broadcast", "dns1", "dns2", "cidr_v6", "gateway_v6", "netmask_v6"}

var networkAdminFields = []string{"created_at", "updated_at", "deleted_at", "deleted", "injected", "bridge", "vlan",
	"vpn_public_address", "vpn_public_port", "vpn_private_address", "dhcp_start", "project_id", "host",
	"bridge_interface", "multi_host", "priority", "rxtx_base", "mtu", "dhcp_server", "enable_dhcp", "share_address"}

func networkView(r *http.Request, n *ProxyNetwork) map[string]any {
	v := map[string]any{"id": n.ID, "label": n.Name}
	for _, f := range networkFields {
		v[f] = nil
	}
	if c := policy.FromContext(r.Context()); c != nil && c.IsAdmin() {
		for _, f := range networkAdminFields {
			v[f] = nil
		}
	}
	return v
}

// tenantNetworkView is os-tenant-networks' view: cidr is Python's
// str(None), as Nova renders it for Networking's networks.
func tenantNetworkView(n *ProxyNetwork) map[string]any {
	return map[string]any{"id": n.ID, "label": n.Name, "cidr": "None"}
}

func (a *api) proxyNetworks(r *http.Request) ([]ProxyNetwork, error) {
	p, err := a.px()
	if err != nil {
		return nil, err
	}
	return p.ListNetworks(r.Context())
}

func (a *api) proxyNetwork(r *http.Request) (*ProxyNetwork, error) {
	p, err := a.px()
	if err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	n, err := p.GetNetwork(r.Context(), id)
	if fault.Is(err, fault.NotFound) {
		return nil, fault.New(fault.NotFound, "Network %s could not be found.", id)
	}
	return n, err
}

func (a *api) listNetworks(w http.ResponseWriter, r *http.Request) error {
	nets, err := a.proxyNetworks(r)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(nets))
	for i := range nets {
		out = append(out, networkView(r, &nets[i]))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"networks": out})
	return nil
}

func (a *api) getNetwork(w http.ResponseWriter, r *http.Request) error {
	n, err := a.proxyNetwork(r)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"network": networkView(r, n)})
	return nil
}

func (a *api) listTenantNetworks(w http.ResponseWriter, r *http.Request) error {
	nets, err := a.proxyNetworks(r)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(nets))
	for i := range nets {
		out = append(out, tenantNetworkView(&nets[i]))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"networks": out})
	return nil
}

func (a *api) getTenantNetwork(w http.ResponseWriter, r *http.Request) error {
	n, err := a.proxyNetwork(r)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"network": tenantNetworkView(n)})
	return nil
}
