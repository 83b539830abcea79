package keystone

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/identity"
)

func regionView(r *http.Request, rg *identity.Region) view {
	return withExtra(view{
		"id": rg.ID, "description": rg.Description, "parent_region_id": nullable(rg.ParentRegionID),
		"links": self(r, "/regions/"+rg.ID),
	}, rg.Extra)
}

var regionFields = []string{"description", "parent_region_id"}

func applyRegion(f fields, rg *identity.Region) error {
	if err := f.str("description", &rg.Description, true); err != nil {
		return err
	}
	if err := f.str("parent_region_id", &rg.ParentRegionID, true); err != nil {
		return err
	}
	rg.Extra = f.extra(rg.Extra, regionFields...)
	return nil
}

func (a *api) createRegion(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "region")
	if err != nil {
		return err
	}
	var rg identity.Region
	if err := f.str("id", &rg.ID, true); err != nil {
		return err
	}
	if err := applyRegion(f, &rg); err != nil {
		return err
	}
	out, err := a.id.CreateRegion(r.Context(), rg)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusCreated, "region", regionView(r, out))
	return nil
}

func (a *api) createRegionWithID(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "region")
	if err != nil {
		return err
	}
	rg := identity.Region{ID: r.PathValue("id")}
	if err := applyRegion(f, &rg); err != nil {
		return err
	}
	out, err := a.id.CreateRegion(r.Context(), rg)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusCreated, "region", regionView(r, out))
	return nil
}

func (a *api) listRegions(w http.ResponseWriter, r *http.Request) error {
	rs, err := a.id.ListRegions(r.Context())
	if err != nil {
		return err
	}
	views := make([]view, 0, len(rs))
	for _, rg := range rs {
		views = append(views, regionView(r, &rg))
	}
	writeList(w, r, "regions", views)
	return nil
}

func (a *api) getRegion(w http.ResponseWriter, r *http.Request) error {
	rg, err := a.id.GetRegion(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "region", regionView(r, rg))
	return nil
}

func (a *api) updateRegion(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "region")
	if err != nil {
		return err
	}
	rg, err := a.id.UpdateRegion(r.Context(), r.PathValue("id"), func(rg *identity.Region) error { return applyRegion(f, rg) })
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "region", regionView(r, rg))
	return nil
}

func (a *api) deleteRegion(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteRegion(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func serviceView(r *http.Request, s *identity.ServiceEntry) view {
	v := withExtra(view{
		"id": s.ID, "type": s.Type, "name": s.Name, "enabled": s.Enabled,
		"links": self(r, "/services/"+s.ID),
	}, s.Extra)
	if s.Description != "" {
		v["description"] = s.Description
	}
	return v
}

var serviceFields = []string{"type", "name", "description", "enabled"}

func applyService(f fields, s *identity.ServiceEntry, create bool) error {
	if create && !f.has("type") {
		return invalid("'type' is a required property")
	}
	if err := f.str("type", &s.Type, false); err != nil {
		return err
	}
	if s.Type == "" || len(s.Type) > 255 {
		return invalid("Invalid input for field 'type': '%s' is not a valid type", s.Type)
	}
	if err := f.str("name", &s.Name, true); err != nil {
		return err
	}
	if err := f.str("description", &s.Description, true); err != nil {
		return err
	}
	if err := f.boolean("enabled", &s.Enabled); err != nil {
		return err
	}
	s.Extra = f.extra(s.Extra, serviceFields...)
	return nil
}

func (a *api) createService(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "service")
	if err != nil {
		return err
	}
	s := identity.ServiceEntry{Enabled: true}
	if err := applyService(f, &s, true); err != nil {
		return err
	}
	out, err := a.id.CreateService(r.Context(), s)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusCreated, "service", serviceView(r, out))
	return nil
}

func (a *api) listServices(w http.ResponseWriter, r *http.Request) error {
	ss, err := a.id.ListServices(r.Context())
	if err != nil {
		return err
	}
	views := make([]view, 0, len(ss))
	for _, s := range ss {
		views = append(views, serviceView(r, &s))
	}
	writeList(w, r, "services", views)
	return nil
}

func (a *api) getService(w http.ResponseWriter, r *http.Request) error {
	s, err := a.id.GetService(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "service", serviceView(r, s))
	return nil
}

func (a *api) updateService(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "service")
	if err != nil {
		return err
	}
	s, err := a.id.UpdateService(r.Context(), r.PathValue("id"), func(s *identity.ServiceEntry) error { return applyService(f, s, false) })
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "service", serviceView(r, s))
	return nil
}

func (a *api) deleteService(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteService(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func endpointView(r *http.Request, e *identity.Endpoint) view {
	return withExtra(view{
		"id": e.ID, "interface": e.Interface, "region_id": nullable(e.RegionID), "region": nullable(e.RegionID),
		"service_id": e.ServiceID, "url": e.URL, "enabled": e.Enabled, "links": self(r, "/endpoints/"+e.ID),
	}, e.Extra)
}

var endpointFields = []string{"interface", "region_id", "region", "service_id", "url", "enabled"}

func applyEndpoint(f fields, e *identity.Endpoint, create bool) error {
	if create {
		for _, k := range []string{"interface", "service_id", "url"} {
			if !f.has(k) {
				return invalid("'%s' is a required property", k)
			}
		}
	}
	for k, dst := range map[string]*string{"interface": &e.Interface, "service_id": &e.ServiceID, "url": &e.URL} {
		if err := f.str(k, dst, false); err != nil {
			return err
		}
	}
	if err := f.str("region", &e.RegionID, true); err != nil {
		return err
	}
	if err := f.str("region_id", &e.RegionID, true); err != nil {
		return err
	}
	if err := f.boolean("enabled", &e.Enabled); err != nil {
		return err
	}
	e.Extra = f.extra(e.Extra, endpointFields...)
	return nil
}

func (a *api) createEndpoint(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "endpoint")
	if err != nil {
		return err
	}
	e := identity.Endpoint{Enabled: true}
	if err := applyEndpoint(f, &e, true); err != nil {
		return err
	}
	if err := a.legacyRegion(r, f, e.RegionID); err != nil {
		return err
	}
	out, err := a.id.CreateEndpoint(r.Context(), e)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusCreated, "endpoint", endpointView(r, out))
	return nil
}

func (a *api) listEndpoints(w http.ResponseWriter, r *http.Request) error {
	es, err := a.id.ListEndpoints(r.Context())
	if err != nil {
		return err
	}
	views := make([]view, 0, len(es))
	for _, e := range es {
		views = append(views, endpointView(r, &e))
	}
	writeList(w, r, "endpoints", views)
	return nil
}

func (a *api) getEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := a.id.GetEndpoint(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "endpoint", endpointView(r, e))
	return nil
}

func (a *api) updateEndpoint(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "endpoint")
	if err != nil {
		return err
	}
	var probe identity.Endpoint
	if err := applyEndpoint(f, &probe, false); err != nil {
		return err
	}
	if err := a.legacyRegion(r, f, probe.RegionID); err != nil {
		return err
	}
	e, err := a.id.UpdateEndpoint(r.Context(), r.PathValue("id"), func(e *identity.Endpoint) error { return applyEndpoint(f, e, false) })
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "endpoint", endpointView(r, e))
	return nil
}

func (a *api) deleteEndpoint(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteEndpoint(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// legacyRegion creates the region named by the legacy "region" attribute
// when only it is given and the region does not exist, as Keystone does.
func (a *api) legacyRegion(r *http.Request, f fields, id string) error {
	if !f.has("region") || f.has("region_id") || id == "" {
		return nil
	}
	return a.id.EnsureRegion(r.Context(), id)
}
