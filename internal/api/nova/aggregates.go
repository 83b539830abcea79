package nova

import (
	"encoding/json"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
)

func aggregateView(r *http.Request, ag *compute.Aggregate, full bool) map[string]any {
	v := map[string]any{
		"id": ag.ID, "name": ag.Name, "availability_zone": ag.AvailabilityZone(),
		"created_at": ts(ag.CreatedAt), "updated_at": tsPtr(ag.UpdatedAt), "deleted_at": nil, "deleted": false,
	}
	if mv(r).AtLeast(2, 41) {
		v["uuid"] = ag.UUID
	}
	if full {
		hosts := ag.Hosts
		if hosts == nil {
			hosts = []string{}
		}
		md := ag.Metadata
		if md == nil {
			md = map[string]string{}
		}
		v["hosts"] = hosts
		v["metadata"] = md
	}
	return v
}

func writeAggregate(w http.ResponseWriter, r *http.Request, ag *compute.Aggregate, err error) error {
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"aggregate": aggregateView(r, ag, true)})
	return nil
}

func (a *api) listAggregates(w http.ResponseWriter, r *http.Request) error {
	ags, err := a.c.ListAggregates(r.Context())
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(ags))
	for i := range ags {
		out = append(out, aggregateView(r, &ags[i], true))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"aggregates": out})
	return nil
}

func (a *api) createAggregate(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "aggregate")
	if err != nil {
		return err
	}
	if err := onlyFields(m, "name", "availability_zone"); err != nil {
		return err
	}
	name, err := stringField(m, "name")
	if err != nil {
		return err
	}
	if name == nil {
		return badRequest("Invalid input for field/attribute aggregate. Value: None. 'name' is a required property.")
	}
	zone, err := stringField(m, "availability_zone")
	if err != nil {
		return err
	}
	ag, err := a.c.CreateAggregate(r.Context(), *name, zone)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"aggregate": aggregateView(r, ag, false)})
	return nil
}

func (a *api) getAggregate(w http.ResponseWriter, r *http.Request) error {
	ag, err := a.c.GetAggregate(r.Context(), r.PathValue("id"))
	return writeAggregate(w, r, ag, err)
}

func (a *api) updateAggregate(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "aggregate")
	if err != nil {
		return err
	}
	if err := onlyFields(m, "name", "availability_zone"); err != nil {
		return err
	}
	if len(m) == 0 {
		return badRequest("Invalid input for field/attribute aggregate. Value: {}. {} does not have enough properties.")
	}
	name, err := stringField(m, "name")
	if err != nil {
		return err
	}
	zone, err := stringField(m, "availability_zone")
	if err != nil {
		return err
	}
	ag, err := a.c.UpdateAggregate(r.Context(), r.PathValue("id"), name, zone)
	return writeAggregate(w, r, ag, err)
}

func (a *api) deleteAggregate(w http.ResponseWriter, r *http.Request) error {
	if err := a.c.DeleteAggregate(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (a *api) aggregateAction(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "")
	if err != nil {
		return err
	}
	if len(m) != 1 {
		return badRequest("Invalid aggregate action: the body must name exactly one action.")
	}
	id := r.PathValue("id")
	for action, raw := range m {
		var body map[string]json.RawMessage
		if err := json.Unmarshal(raw, &body); err != nil || body == nil {
			return badRequest("Invalid input for field/attribute %s.", action)
		}
		switch action {
		case "add_host", "remove_host":
			if err := onlyFields(body, "host"); err != nil {
				return err
			}
			host, err := stringField(body, "host")
			if err != nil {
				return err
			}
			if host == nil || *host == "" {
				return badRequest("Invalid input for field/attribute %s. Value: None. 'host' is a required property.", action)
			}
			var ag *compute.Aggregate
			if action == "add_host" {
				ag, err = a.c.AddAggregateHost(r.Context(), id, *host)
			} else {
				ag, err = a.c.RemoveAggregateHost(r.Context(), id, *host)
			}
			return writeAggregate(w, r, ag, err)
		case "set_metadata":
			if err := onlyFields(body, "metadata"); err != nil {
				return err
			}
			var md map[string]*string
			if err := json.Unmarshal(body["metadata"], &md); err != nil || md == nil {
				return badRequest("Invalid input for field/attribute set_metadata. 'metadata' must be an object of strings or nulls.")
			}
			ag, err := a.c.SetAggregateMetadata(r.Context(), id, md)
			return writeAggregate(w, r, ag, err)
		}
		return badRequest("Invalid aggregate action %s.", action)
	}
	return nil
}
