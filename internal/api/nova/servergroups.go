package nova

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/scheduler"
)

func serverGroupView(r *http.Request, g *compute.ServerGroup) map[string]any {
	members := g.Members
	if members == nil {
		members = []string{}
	}
	v := map[string]any{"id": g.ID, "name": g.Name, "members": members}
	if mv(r).AtLeast(2, 64) {
		rules := map[string]int{}
		for k, n := range g.Rules {
			rules[k] = n
		}
		v["policy"] = g.Policy
		v["rules"] = rules
	} else {
		v["policies"] = []string{g.Policy}
		v["metadata"] = map[string]string{}
	}
	if mv(r).AtLeast(2, 13) {
		v["project_id"] = g.ProjectID
		v["user_id"] = g.UserID
	}
	return v
}

func (a *api) createServerGroup(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "server_group")
	if err != nil {
		return err
	}
	name, err := stringField(m, "name")
	if err != nil {
		return err
	}
	if name == nil {
		return badRequest("Invalid input for field/attribute server_group. Value: None. 'name' is a required property.")
	}
	var pol string
	var rules map[string]int
	if mv(r).AtLeast(2, 64) {
		if err := onlyFields(m, "name", "policy", "rules"); err != nil {
			return err
		}
		p, err := stringField(m, "policy")
		if err != nil {
			return err
		}
		if p == nil {
			return badRequest("Invalid input for field/attribute server_group. Value: None. 'policy' is a required property.")
		}
		pol = *p
		if raw, ok := m["rules"]; ok {
			if err := json.Unmarshal(raw, &rules); err != nil {
				return badRequest("Invalid input for field/attribute rules. Value: %s.", raw)
			}
		}
	} else {
		if err := onlyFields(m, "name", "policies"); err != nil {
			return err
		}
		var ps []string
		if err := json.Unmarshal(m["policies"], &ps); err != nil || len(ps) != 1 {
			return badRequest("Invalid input for field/attribute policies. 'policies' must hold exactly one policy.")
		}
		pol = ps[0]
		if !mv(r).AtLeast(2, 15) && (pol == scheduler.SoftAffinity || pol == scheduler.SoftAntiAffinity) {
			return badRequest("Invalid input for field/attribute policies. Value: %s. Soft policies need microversion 2.15.", pol)
		}
	}
	g, err := a.c.CreateServerGroup(r.Context(), *name, pol, rules)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"server_group": serverGroupView(r, g)})
	return nil
}

func (a *api) getServerGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := a.c.GetServerGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"server_group": serverGroupView(r, g)})
	return nil
}

func (a *api) listServerGroups(w http.ResponseWriter, r *http.Request) error {
	all := false
	if r.URL.Query().Has("all_projects") {
		s := r.URL.Query().Get("all_projects")
		all, _ = parseBool(s)
		all = all || s == ""
	}
	gs, err := a.c.ListServerGroups(r.Context(), all)
	if err != nil {
		return err
	}
	// Server groups page by limit and offset (not marker), as in Nova.
	q := r.URL.Query()
	offset, limit := 0, len(gs)
	for name, dst := range map[string]*int{"offset": &offset, "limit": &limit} {
		if s := q.Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || (name == "limit" && n == 0) {
				return badRequest("Invalid input for query parameters %s. Value: %s.", name, s)
			}
			*dst = n
		}
	}
	gs = gs[min(offset, len(gs)):]
	gs = gs[:min(limit, len(gs))]
	out := make([]map[string]any, 0, len(gs))
	for i := range gs {
		out = append(out, serverGroupView(r, &gs[i]))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"server_groups": out})
	return nil
}

func (a *api) deleteServerGroup(w http.ResponseWriter, r *http.Request) error {
	if err := a.c.DeleteServerGroup(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
