package neutron

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
)

func quotaView(project string, q map[string]int) view {
	v := view{}
	for k, n := range q {
		v[k] = n
	}
	if project != "" {
		v["project_id"] = project
		v["tenant_id"] = project
	}
	return v
}

func (a *api) listQuotas(w http.ResponseWriter, r *http.Request) error {
	all, err := a.net.ListQuotas(r.Context())
	if err != nil {
		return err
	}
	out := []view{}
	for p, q := range all {
		out = append(out, quotaView(p, q))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quotas": out})
	return nil
}

func (a *api) getQuota(w http.ResponseWriter, r *http.Request) error {
	q, err := a.net.GetQuota(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quota": quotaView("", q)})
	return nil
}

func (a *api) defaultQuota(w http.ResponseWriter, r *http.Request) error {
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quota": quotaView("", a.net.DefaultQuota())})
	return nil
}

func (a *api) quotaDetails(w http.ResponseWriter, r *http.Request) error {
	d, err := a.net.QuotaDetails(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quota": d})
	return nil
}

func (a *api) updateQuota(w http.ResponseWriter, r *http.Request) error {
	var set map[string]int
	if err := decodeBody(w, r, "quota", &set); err != nil {
		return err
	}
	q, err := a.net.UpdateQuota(r.Context(), r.PathValue("project"), set)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quota": quotaView("", q)})
	return nil
}

func (a *api) resetQuota(w http.ResponseWriter, r *http.Request) error {
	if err := a.net.ResetQuota(r.Context(), r.PathValue("project")); err != nil {
		return err
	}
	return noContent(w)
}
