package nova

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
)

// externalEventNames returns the event names a microversion accepts.
func externalEventNames(r *http.Request) []string {
	names := []string{"network-changed", "network-vif-plugged", "network-vif-unplugged", "network-vif-deleted"}
	if mv(r).AtLeast(2, 51) {
		names = append(names, "volume-extended")
	}
	if mv(r).AtLeast(2, 76) {
		names = append(names, "power-update")
	}
	return names
}

// createExternalEvents is POST /os-server-external-events (admin): 200
// when every event was accepted, 207 when some were, 404 when none was
// (each event carries its own code).
func (a *api) createExternalEvents(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeBody(w, r, "")
	if err != nil {
		return err
	}
	raw, ok := body["events"]
	if !ok {
		return badRequest("Invalid input for field/attribute events. Value: None. 'events' is a required property.")
	}
	for k := range body {
		if k != "events" {
			return badRequest("Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return badRequest("Invalid input for field/attribute events. Value: %s. It must be a list of objects.", raw)
	}
	if len(items) == 0 {
		return badRequest("Invalid input for field/attribute events. Value: []. [] is too short")
	}
	names := externalEventNames(r)
	events := make([]compute.ExternalEvent, 0, len(items))
	for _, it := range items {
		var ev compute.ExternalEvent
		for k := range it {
			switch k {
			case "name", "server_uuid", "status", "tag":
			default:
				return badRequest("Additional properties are not allowed ('%s' was unexpected)", k)
			}
		}
		for _, f := range []struct {
			name string
			dst  *string
		}{{"name", &ev.Name}, {"server_uuid", &ev.ServerID}, {"status", &ev.Status}, {"tag", &ev.Tag}} {
			v, err := stringField(it, f.name)
			if err != nil {
				return err
			}
			if v != nil {
				*f.dst = *v
			}
		}
		switch {
		case ev.Name == "":
			return badRequest("Invalid input for field/attribute name. 'name' is a required property.")
		case !slices.Contains(names, ev.Name):
			return badRequest("Invalid input for field/attribute name. Value: %s. '%s' is not one of %q", ev.Name, ev.Name, names)
		case ev.ServerID == "":
			return badRequest("Invalid input for field/attribute server_uuid. 'server_uuid' is a required property.")
		case ev.Status != "" && !slices.Contains([]string{"failed", "completed", "in-progress"}, ev.Status):
			return badRequest("Invalid input for field/attribute status. Value: %s. '%s' is not one of ['failed', 'completed', 'in-progress']", ev.Status, ev.Status)
		case len(ev.Tag) > 255:
			return badRequest("Invalid input for field/attribute tag. It is longer than 255 characters.")
		}
		events = append(events, ev)
	}
	res, err := a.c.ExternalEvents(r.Context(), events)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(res))
	accepted := 0
	for _, ev := range res {
		v := map[string]any{"name": ev.Name, "server_uuid": ev.ServerID, "status": ev.Status, "code": ev.Code}
		if ev.Tag != "" {
			v["tag"] = ev.Tag
		}
		if ev.Code == http.StatusOK {
			accepted++
		}
		out = append(out, v)
	}
	if accepted == 0 {
		return notFoundf("No instances found for any event")
	}
	code := http.StatusOK
	if accepted < len(res) {
		code = http.StatusMultiStatus
	}
	apihttp.WriteJSON(w, code, map[string]any{"events": out})
	return nil
}
