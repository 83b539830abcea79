package keystone

import (
	"net/http"
	"slices"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/identity"
)

func (a *api) registerTrusts(mux *http.ServeMux, authed func(apihttp.HandlerFunc) http.Handler) {
	base := v3 + "/OS-TRUST/trusts"
	mux.Handle("POST "+base, authed(a.createTrust))
	mux.Handle("GET "+base, authed(a.listTrusts))
	mux.Handle("GET "+base+"/{$}", authed(a.listTrusts)) // Tempest's client lists with a trailing slash
	mux.Handle("GET "+base+"/{id}", authed(a.getTrust))
	mux.Handle("DELETE "+base+"/{id}", authed(a.deleteTrust))
	mux.Handle("GET "+base+"/{id}/roles", authed(a.listTrustRoles))
	mux.Handle("GET "+base+"/{id}/roles/{role}", authed(a.getTrustRole))
	mux.Handle("HEAD "+base+"/{id}/roles/{role}", authed(a.getTrustRole))
}

func (a *api) trustView(r *http.Request, t *identity.Trust, withRoles bool) (view, error) {
	v := view{
		"id": t.ID, "trustor_user_id": t.TrustorUserID, "trustee_user_id": t.TrusteeUserID,
		"project_id": nullable(t.ProjectID), "impersonation": t.Impersonation,
		"expires_at": tsPtr(t.ExpiresAt), "remaining_uses": t.RemainingUses,
		"allow_redelegation": t.AllowRedelegation, "links": self(r, "/OS-TRUST/trusts/"+t.ID),
	}
	if withRoles {
		roles, err := a.id.RolesByID(r.Context(), t.RoleIDs)
		if err != nil {
			return nil, err
		}
		rv := make([]view, 0, len(roles))
		for _, ro := range roles {
			rv = append(rv, briefRole(r, &ro))
		}
		v["roles"] = rv
		v["roles_links"] = view{"self": apihttp.BaseURL(r) + v3 + "/OS-TRUST/trusts/" + t.ID + "/roles", "previous": nil, "next": nil}
	}
	return v, nil
}

func (a *api) createTrust(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Trust *struct {
			TrustorUserID     string  `json:"trustor_user_id"`
			TrusteeUserID     string  `json:"trustee_user_id"`
			ProjectID         string  `json:"project_id"`
			Impersonation     *bool   `json:"impersonation"`
			ExpiresAt         *string `json:"expires_at"`
			RemainingUses     *int    `json:"remaining_uses"`
			AllowRedelegation bool    `json:"allow_redelegation"`
			Roles             []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"roles"`
		} `json:"trust"`
	}
	if err := apihttp.Decode(w, r, &body); err != nil {
		return err
	}
	t := body.Trust
	if t == nil {
		return invalid("'trust' is a required property")
	}
	if t.TrustorUserID == "" || t.TrusteeUserID == "" || t.Impersonation == nil {
		return invalid("'trustor_user_id', 'trustee_user_id' and 'impersonation' are required properties")
	}
	n := identity.NewTrust{TrustorUserID: t.TrustorUserID, TrusteeUserID: t.TrusteeUserID, ProjectID: t.ProjectID,
		Impersonation: *t.Impersonation, RemainingUses: t.RemainingUses, AllowRedelegation: t.AllowRedelegation}
	if t.ExpiresAt != nil && *t.ExpiresAt != "" {
		exp, err := parseTime(*t.ExpiresAt)
		if err != nil {
			return invalid("Invalid input for field 'expires_at': '%s' is not a valid date-time", *t.ExpiresAt)
		}
		n.ExpiresAt = &exp
	}
	for _, ro := range t.Roles {
		if ro.ID != "" {
			n.RoleIDs = append(n.RoleIDs, ro.ID)
		} else if ro.Name != "" {
			n.RoleNames = append(n.RoleNames, ro.Name)
		}
	}
	out, err := a.id.CreateTrust(r.Context(), n)
	if err != nil {
		return err
	}
	v, err := a.trustView(r, out, true)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusCreated, "trust", v)
	return nil
}

func (a *api) listTrusts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ts, err := a.id.ListTrusts(r.Context(), q.Get("trustor_user_id"), q.Get("trustee_user_id"))
	if err != nil {
		return err
	}
	views := make([]view, 0, len(ts))
	for _, t := range ts {
		v, err := a.trustView(r, &t, false)
		if err != nil {
			return err
		}
		views = append(views, v)
	}
	writeList(w, r, "trusts", views)
	return nil
}

func (a *api) getTrust(w http.ResponseWriter, r *http.Request) error {
	t, err := a.id.GetTrust(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := a.trustView(r, t, true)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "trust", v)
	return nil
}

func (a *api) deleteTrust(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteTrust(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) listTrustRoles(w http.ResponseWriter, r *http.Request) error {
	t, err := a.id.GetTrust(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	roles, err := a.id.RolesByID(r.Context(), t.RoleIDs)
	if err != nil {
		return err
	}
	views := make([]view, 0, len(roles))
	for _, ro := range roles {
		views = append(views, roleView(r, &ro))
	}
	writeList(w, r, "roles", views)
	return nil
}

func (a *api) getTrustRole(w http.ResponseWriter, r *http.Request) error {
	t, err := a.id.GetTrust(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	id := r.PathValue("role")
	if !slices.Contains(t.RoleIDs, id) {
		return fault.New(fault.NotFound, "Could not find role: %s.", id)
	}
	roles, err := a.id.RolesByID(r.Context(), []string{id})
	if err != nil {
		return err
	}
	if len(roles) == 0 {
		return fault.New(fault.NotFound, "Could not find role: %s.", id)
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	writeOne(w, http.StatusOK, "role", roleView(r, &roles[0]))
	return nil
}
