package neutron

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
)

func (a *api) versions(w http.ResponseWriter, r *http.Request) error {
	base := apihttp.BaseURL(r) + v2 + "/"
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"versions": []map[string]any{{
		"id": "v2.0", "status": "CURRENT", "links": []map[string]string{{"rel": "self", "href": base}},
	}}})
	return nil
}

var resources = [][2]string{
	{"network", "networks"}, {"subnet", "subnets"}, {"port", "ports"}, {"router", "routers"},
	{"floatingip", "floatingips"}, {"security_group", "security-groups"}, {"security_group_rule", "security-group-rules"},
	{"subnetpool", "subnetpools"}, {"quota", "quotas"}, {"network_ip_availability", "network-ip-availabilities"},
	{"availability_zone", "availability_zones"},
}

func (a *api) version(w http.ResponseWriter, r *http.Request) error {
	base := apihttp.BaseURL(r) + v2 + "/"
	out := []map[string]any{}
	for _, res := range resources {
		out = append(out, map[string]any{"name": res[0], "collection": res[1], "links": []map[string]string{{"rel": "self", "href": base + res[1]}}})
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"resources": out})
	return nil
}

type extension struct {
	Alias, Name, Description string
}

// extensions is exactly what this package implements.
var extensions = []extension{
	{"allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"},
	{"availability_zone", "Availability Zone", "The availability zone extension."},
	{"network_availability_zone", "Network Availability Zone", "Availability zone support for network."},
	{"router_availability_zone", "Router Availability Zone", "Availability zone support for router."},
	{"binding", "Port Binding", "Expose port bindings of a virtual port to external application"},
	{"default-subnetpools", "Default Subnetpools", "Provides ability to mark and use a subnetpool as the default."},
	{"external-net", "Neutron external network", "Adds external network attribute to network resource."},
	{"ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"},
	{"extra_dhcp_opt", "Neutron Extra DHCP options", "Extra options configuration for DHCP."},
	{"extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"},
	{"extraroute-atomic", "Atomically add/remove extra routes", "Edit extra routes of a router on server side by atomically adding/removing extra routes"},
	{"floating-ip-port-forwarding", "Floating IP Port Forwarding", "Allows a floating IP to forward ports to a fixed IP of a port (records only until the data plane programs DNAT)."},
	{"ip-substring-filtering", "IP address substring filtering", "Provides IP address substring filtering when listing ports"},
	{"l3-ha", "HA Router extension", "Adds HA capability to routers."},
	{"dvr", "Distributed Virtual Router", "Enables configuration of Distributed Virtual Routers."},
	{"net-mtu", "Network MTU", "Provides MTU attribute for a network resource."},
	{"network-ip-availability", "Network IP Availability", "Provides IP availability data for each network and subnet."},
	{"port-security", "Port Security", "Provides port security"},
	{"project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."},
	{"provider", "Provider Network", "Expose mapping of virtual networks to physical networks"},
	{"quotas", "Quota management support", "Expose functions for quotas management per project"},
	{"quota_details", "Quota details management support", "Expose functions for quotas usage statistics per project"},
	{"revision-if-match", "If-Match constraints based on revision_number", "Extension indicating that If-Match based on revision_number is supported."},
	{"router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."},
	{"security-group", "security-group", "The security groups extension."},
	{"stateful-security-group", "Stateful security group", "Indicates if the security group is stateful or not"},
	{"sorting", "Sorting support", "Enables sorting of results."},
	{"pagination", "Pagination support", "Extension that indicates that pagination is enabled."},
	{"fields", "fields", "Fields selection (always supported)."},
	{"standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes"},
	{"standard-attr-revisions", "Resource revision numbers", "This extension will display the revision number of neutron resources."},
	{"standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."},
	{"standard-attr-tag", "Tag support for resources with standard attribute: subnet, trunk, network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip", "Enables to set tag on resources with standard attribute."},
	{"subnet_allocation", "Subnet Allocation", "Enables allocation of subnets from a subnet pool"},
	{"tag", "Tag support", "Enables to set tag on resources."},
	{"tag-ext", "Tag support for resources: subnet, subnetpool, port, router", "Extends tag support to more L2 and L3 resources."},
}

func extView(e extension) map[string]any {
	return map[string]any{"alias": e.Alias, "name": e.Name, "description": e.Description, "links": []any{}, "updated": "2026-01-01T00:00:00-00:00"}
}

func (a *api) listExtensions(w http.ResponseWriter, r *http.Request) error {
	out := []map[string]any{}
	for _, e := range extensions {
		out = append(out, extView(e))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"extensions": out})
	return nil
}

func (a *api) getExtension(w http.ResponseWriter, r *http.Request) error {
	alias := r.PathValue("alias")
	for _, e := range extensions {
		if e.Alias == alias {
			apihttp.WriteJSON(w, http.StatusOK, map[string]any{"extension": extView(e)})
			return nil
		}
	}
	return notFound("Extension with alias " + alias + " does not exist")
}
