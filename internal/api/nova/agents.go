package nova

import (
	"encoding/json"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
)

// os-agents (admin): guest agent builds, as Nova served them up to Train.

func agentView(a *compute.Agent) map[string]any {
	return map[string]any{"agent_id": a.ID, "hypervisor": a.Hypervisor, "os": a.OS, "architecture": a.Architecture,
		"version": a.Version, "url": a.URL, "md5hash": a.MD5Hash}
}

// requiredStrings reads the string fields names of m, each required.
func requiredStrings(m map[string]json.RawMessage, envelope string, names ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		v, err := stringField(m, n)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, badRequest("Invalid input for field/attribute %s. Value: None. '%s' is a required property.", envelope, n)
		}
		out[n] = *v
	}
	for k := range m {
		if _, ok := out[k]; !ok {
			return nil, badRequest("Invalid input for field/attribute %s. Additional properties are not allowed ('%s' was unexpected)", envelope, k)
		}
	}
	return out, nil
}

func (a *api) listAgents(w http.ResponseWriter, r *http.Request) error {
	list, err := a.c.ListAgents(r.Context(), r.URL.Query().Get("hypervisor"))
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for i := range list {
		out = append(out, agentView(&list[i]))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"agents": out})
	return nil
}

func (a *api) createAgent(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "agent")
	if err != nil {
		return err
	}
	f, err := requiredStrings(m, "agent", "hypervisor", "os", "architecture", "version", "url", "md5hash")
	if err != nil {
		return err
	}
	ag, err := a.c.CreateAgent(r.Context(), compute.Agent{Hypervisor: f["hypervisor"], OS: f["os"], Architecture: f["architecture"],
		Version: f["version"], URL: f["url"], MD5Hash: f["md5hash"]})
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"agent": agentView(ag)})
	return nil
}

func (a *api) updateAgent(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "para")
	if err != nil {
		return err
	}
	f, err := requiredStrings(m, "para", "version", "url", "md5hash")
	if err != nil {
		return err
	}
	ag, err := a.c.UpdateAgent(r.Context(), r.PathValue("id"), f["version"], f["url"], f["md5hash"])
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"agent": map[string]any{"agent_id": ag.ID, "version": ag.Version, "url": ag.URL, "md5hash": ag.MD5Hash}})
	return nil
}

func (a *api) deleteAgent(w http.ResponseWriter, r *http.Request) error {
	if err := a.c.DeleteAgent(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
