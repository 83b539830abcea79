package neutron

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/network"
)

func (a *api) netView(r *http.Request, n *network.Network, subnets []string) view {
	return networkView(n, subnets, a.net.AvailabilityZones(), isAdmin(r))
}

func (a *api) createNetwork(w http.ResponseWriter, r *http.Request) error {
	raws, bulk, err := decodeBulk(w, r, "network", "networks")
	if err != nil {
		return err
	}
	var out []view
	for _, raw := range raws {
		var spec network.NetworkSpec
		if err := unmarshal(raw, &spec); err != nil {
			return err
		}
		n, err := a.net.CreateNetwork(r.Context(), spec)
		if err != nil {
			return err
		}
		out = append(out, a.netView(r, n, nil))
	}
	return writeCreated(w, r, "network", "networks", bulk, out)
}

func (a *api) listNetworks(w http.ResponseWriter, r *http.Request) error {
	nets, err := a.net.ListNetworks(r.Context())
	if err != nil {
		return err
	}
	subnets, err := a.net.NetworkSubnets(r.Context())
	if err != nil {
		return err
	}
	out := make([]view, 0, len(nets))
	for i := range nets {
		out = append(out, a.netView(r, &nets[i], subnets[nets[i].ID]))
	}
	return writeList(w, r, "networks", out)
}

func (a *api) getNetwork(w http.ResponseWriter, r *http.Request) error {
	n, err := a.net.GetNetwork(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	subnets, err := a.net.NetworkSubnets(r.Context())
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "network", a.netView(r, n, subnets[n.ID]))
}

func (a *api) updateNetwork(w http.ResponseWriter, r *http.Request) error {
	var spec network.NetworkSpec
	if err := decodeBody(w, r, "network", &spec); err != nil {
		return err
	}
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	spec.IfRevision = rev
	n, err := a.net.UpdateNetwork(r.Context(), r.PathValue("id"), spec)
	if err != nil {
		return err
	}
	subnets, err := a.net.NetworkSubnets(r.Context())
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "network", a.netView(r, n, subnets[n.ID]))
}

func (a *api) deleteNetwork(w http.ResponseWriter, r *http.Request) error {
	if err := a.net.DeleteNetwork(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
