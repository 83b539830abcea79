package keystone

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/identity"
)

func policyView(r *http.Request, p *identity.Policy) view {
	return withExtra(view{
		"id": p.ID, "type": p.Type, "blob": p.Blob, "links": self(r, "/policies/"+p.ID),
	}, p.Extra)
}

var policyFields = []string{"type", "blob"}

// applyPolicy reads a policy body: blob and type are strings (type at most
// 255 characters), both required on create; anything else is an extra.
func applyPolicy(f fields, p *identity.Policy, create bool) error {
	if create {
		for _, k := range []string{"blob", "type"} {
			if !f.has(k) {
				return invalid("'%s' is a required property", k)
			}
		}
	} else if len(f) == 0 {
		return invalid("{} does not have enough properties")
	}
	if err := f.str("blob", &p.Blob, false); err != nil {
		return err
	}
	if err := f.str("type", &p.Type, false); err != nil {
		return err
	}
	if len(p.Type) > 255 {
		return invalid("Invalid input for field 'type': '%s' is too long", p.Type)
	}
	p.Extra = f.extra(p.Extra, policyFields...)
	return nil
}

func (a *api) createPolicy(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "policy")
	if err != nil {
		return err
	}
	var p identity.Policy
	if err := applyPolicy(f, &p, true); err != nil {
		return err
	}
	out, err := a.id.CreatePolicy(r.Context(), p)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusCreated, "policy", policyView(r, out))
	return nil
}

func (a *api) listPolicies(w http.ResponseWriter, r *http.Request) error {
	ps, err := a.id.ListPolicies(r.Context())
	if err != nil {
		return err
	}
	views := make([]view, 0, len(ps))
	for _, p := range ps {
		views = append(views, policyView(r, &p))
	}
	writeList(w, r, "policies", views)
	return nil
}

func (a *api) getPolicy(w http.ResponseWriter, r *http.Request) error {
	p, err := a.id.GetPolicy(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "policy", policyView(r, p))
	return nil
}

func (a *api) updatePolicy(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "policy")
	if err != nil {
		return err
	}
	p, err := a.id.UpdatePolicy(r.Context(), r.PathValue("id"), func(p *identity.Policy) error { return applyPolicy(f, p, false) })
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "policy", policyView(r, p))
	return nil
}

func (a *api) deletePolicy(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeletePolicy(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
