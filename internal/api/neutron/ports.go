package neutron

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/network"
)

func (a *api) createPort(w http.ResponseWriter, r *http.Request) error {
	raws, bulk, err := decodeBulk(w, r, "port", "ports")
	if err != nil {
		return err
	}
	var out []view
	for _, raw := range raws {
		var spec network.PortSpec
		if err := unmarshal(raw, &spec); err != nil {
			return err
		}
		p, err := a.net.CreatePort(r.Context(), spec)
		if err != nil {
			return err
		}
		out = append(out, portView(p, isAdmin(r)))
	}
	return writeCreated(w, r, "port", "ports", bulk, out)
}

func (a *api) listPorts(w http.ResponseWriter, r *http.Request) error {
	ports, err := a.net.ListPorts(r.Context(), r.URL.Query().Get("network_id"))
	if err != nil {
		return err
	}
	admin := isAdmin(r)
	out := make([]view, 0, len(ports))
	for i := range ports {
		out = append(out, portView(&ports[i], admin))
	}
	return writeList(w, r, "ports", out)
}

func (a *api) getPort(w http.ResponseWriter, r *http.Request) error {
	p, err := a.net.GetPort(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "port", portView(p, isAdmin(r)))
}

func (a *api) updatePort(w http.ResponseWriter, r *http.Request) error {
	var spec network.PortSpec
	if err := decodeBody(w, r, "port", &spec); err != nil {
		return err
	}
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	spec.IfRevision = rev
	p, err := a.net.UpdatePort(r.Context(), r.PathValue("id"), spec)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "port", portView(p, isAdmin(r)))
}

func (a *api) deletePort(w http.ResponseWriter, r *http.Request) error {
	if err := a.net.DeletePort(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
