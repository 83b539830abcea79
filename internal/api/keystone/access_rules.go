package keystone

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/identity"
)

func (a *api) registerAccessRules(mux *http.ServeMux, authed func(apihttp.HandlerFunc) http.Handler) {
	base := v3 + "/users/{id}/access_rules"
	mux.Handle("GET "+base, authed(a.listAccessRules))
	mux.Handle("GET "+base+"/{rule}", authed(a.getAccessRule))
	mux.Handle("DELETE "+base+"/{rule}", authed(a.deleteAccessRule))
}

func accessRuleView(r *http.Request, userID string, ar *identity.AccessRule) view {
	return view{"id": ar.ID, "path": ar.Path, "method": ar.Method, "service": ar.Service,
		"links": self(r, "/users/"+userID+"/access_rules/"+ar.ID)}
}

func (a *api) listAccessRules(w http.ResponseWriter, r *http.Request) error {
	rules, err := a.id.ListAccessRules(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	views := make([]view, 0, len(rules))
	for _, ar := range rules {
		views = append(views, accessRuleView(r, r.PathValue("id"), &ar))
	}
	writeList(w, r, "access_rules", views)
	return nil
}

func (a *api) getAccessRule(w http.ResponseWriter, r *http.Request) error {
	ar, err := a.id.GetAccessRule(r.Context(), r.PathValue("id"), r.PathValue("rule"))
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "access_rule", accessRuleView(r, r.PathValue("id"), ar))
	return nil
}

func (a *api) deleteAccessRule(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteAccessRule(r.Context(), r.PathValue("id"), r.PathValue("rule")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
