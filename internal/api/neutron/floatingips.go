package neutron

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/network"
)

func (a *api) createFIP(w http.ResponseWriter, r *http.Request) error {
	var spec network.FloatingIPSpec
	if err := decodeBody(w, r, "floatingip", &spec); err != nil {
		return err
	}
	f, err := a.net.CreateFloatingIP(r.Context(), spec)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusCreated, "floatingip", fipView(f))
}

func (a *api) listFIPs(w http.ResponseWriter, r *http.Request) error {
	fips, err := a.net.ListFloatingIPs(r.Context())
	if err != nil {
		return err
	}
	out := make([]view, 0, len(fips))
	for i := range fips {
		out = append(out, fipView(&fips[i]))
	}
	return writeList(w, r, "floatingips", out)
}

func (a *api) getFIP(w http.ResponseWriter, r *http.Request) error {
	f, err := a.net.GetFloatingIP(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "floatingip", fipView(f))
}

func (a *api) updateFIP(w http.ResponseWriter, r *http.Request) error {
	var spec network.FloatingIPSpec
	if err := decodeBody(w, r, "floatingip", &spec); err != nil {
		return err
	}
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	spec.IfRevision = rev
	f, err := a.net.UpdateFloatingIP(r.Context(), r.PathValue("id"), spec)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "floatingip", fipView(f))
}

func (a *api) deleteFIP(w http.ResponseWriter, r *http.Request) error {
	if err := a.net.DeleteFloatingIP(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
