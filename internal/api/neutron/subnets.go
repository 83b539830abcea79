package neutron

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/network"
)

func (a *api) createSubnet(w http.ResponseWriter, r *http.Request) error {
	raws, bulk, err := decodeBulk(w, r, "subnet", "subnets")
	if err != nil {
		return err
	}
	var out []view
	for _, raw := range raws {
		var spec network.SubnetSpec
		if err := unmarshal(raw, &spec); err != nil {
			return err
		}
		s, err := a.net.CreateSubnet(r.Context(), spec)
		if err != nil {
			return err
		}
		out = append(out, subnetView(s))
	}
	return writeCreated(w, r, "subnet", "subnets", bulk, out)
}

func (a *api) listSubnets(w http.ResponseWriter, r *http.Request) error {
	subnets, err := a.net.ListSubnets(r.Context())
	if err != nil {
		return err
	}
	out := make([]view, 0, len(subnets))
	for i := range subnets {
		out = append(out, subnetView(&subnets[i]))
	}
	return writeList(w, r, "subnets", out)
}

func (a *api) getSubnet(w http.ResponseWriter, r *http.Request) error {
	s, err := a.net.GetSubnet(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "subnet", subnetView(s))
}

func (a *api) updateSubnet(w http.ResponseWriter, r *http.Request) error {
	var spec network.SubnetSpec
	if err := decodeBody(w, r, "subnet", &spec); err != nil {
		return err
	}
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	spec.IfRevision = rev
	s, err := a.net.UpdateSubnet(r.Context(), r.PathValue("id"), spec)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "subnet", subnetView(s))
}

func (a *api) deleteSubnet(w http.ResponseWriter, r *http.Request) error {
	if err := a.net.DeleteSubnet(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
