package neutron

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/network"
)

func (a *api) createPool(w http.ResponseWriter, r *http.Request) error {
	var spec network.SubnetPoolSpec
	if err := decodeBody(w, r, "subnetpool", &spec); err != nil {
		return err
	}
	p, err := a.net.CreateSubnetPool(r.Context(), spec)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusCreated, "subnetpool", poolView(p))
}

func (a *api) listPools(w http.ResponseWriter, r *http.Request) error {
	pools, err := a.net.ListSubnetPools(r.Context())
	if err != nil {
		return err
	}
	out := make([]view, 0, len(pools))
	for i := range pools {
		out = append(out, poolView(&pools[i]))
	}
	return writeList(w, r, "subnetpools", out)
}

func (a *api) getPool(w http.ResponseWriter, r *http.Request) error {
	p, err := a.net.GetSubnetPool(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "subnetpool", poolView(p))
}

func (a *api) updatePool(w http.ResponseWriter, r *http.Request) error {
	var spec network.SubnetPoolSpec
	if err := decodeBody(w, r, "subnetpool", &spec); err != nil {
		return err
	}
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	spec.IfRevision = rev
	p, err := a.net.UpdateSubnetPool(r.Context(), r.PathValue("id"), spec)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "subnetpool", poolView(p))
}

func (a *api) deletePool(w http.ResponseWriter, r *http.Request) error {
	if err := a.net.DeleteSubnetPool(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
