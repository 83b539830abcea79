package keystone

import (
	"net/http"
	"time"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/identity"
	"github.com/nubo-cloud/nubo/internal/policy"
)

func credentialView(r *http.Request, c *identity.Credential) view {
	return withExtra(view{
		"id": c.ID, "user_id": c.UserID, "project_id": nullable(c.ProjectID), "type": c.Type, "blob": c.Blob,
		"links": self(r, "/credentials/"+c.ID),
	}, c.Extra)
}

var credentialFields = []string{"user_id", "project_id", "type", "blob"}

func applyCredential(f fields, c *identity.Credential, create bool) error {
	if create {
		for _, k := range []string{"blob", "type", "user_id"} {
			if !f.has(k) {
				return invalid("'%s' is a required property", k)
			}
		}
	}
	for k, dst := range map[string]*string{"user_id": &c.UserID, "type": &c.Type, "blob": &c.Blob} {
		if err := f.str(k, dst, false); err != nil {
			return err
		}
	}
	if err := f.str("project_id", &c.ProjectID, true); err != nil {
		return err
	}
	c.Extra = f.extra(c.Extra, credentialFields...)
	return nil
}

func (a *api) createCredential(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "credential")
	if err != nil {
		return err
	}
	var c identity.Credential
	if err := applyCredential(f, &c, true); err != nil {
		return err
	}
	out, err := a.id.CreateCredential(r.Context(), c)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusCreated, "credential", credentialView(r, out))
	return nil
}

func (a *api) listCredentials(w http.ResponseWriter, r *http.Request) error {
	cs, err := a.id.ListCredentials(r.Context())
	if err != nil {
		return err
	}
	views := make([]view, 0, len(cs))
	for _, c := range cs {
		views = append(views, credentialView(r, &c))
	}
	writeList(w, r, "credentials", views)
	return nil
}

func (a *api) getCredential(w http.ResponseWriter, r *http.Request) error {
	c, err := a.id.GetCredential(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "credential", credentialView(r, c))
	return nil
}

func (a *api) updateCredential(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "credential")
	if err != nil {
		return err
	}
	c, err := a.id.UpdateCredential(r.Context(), r.PathValue("id"), func(c *identity.Credential) error { return applyCredential(f, c, false) })
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "credential", credentialView(r, c))
	return nil
}

func (a *api) deleteCredential(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteCredential(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) appCredView(r *http.Request, c *identity.AppCredential) (view, error) {
	roles, err := a.id.RolesByID(r.Context(), c.RoleIDs)
	if err != nil {
		return nil, err
	}
	rv := make([]view, 0, len(roles))
	for _, ro := range roles {
		rv = append(rv, view{"id": ro.ID, "name": ro.Name, "domain_id": nullable(ro.DomainID)})
	}
	rules := make([]view, 0, len(c.AccessRules))
	for _, ar := range c.AccessRules {
		rules = append(rules, view{"id": ar.ID, "path": ar.Path, "method": ar.Method, "service": ar.Service})
	}
	return view{
		"id": c.ID, "name": c.Name, "description": nullable(c.Description), "user_id": c.UserID,
		"project_id": c.ProjectID, "expires_at": appCredExpiry(c.ExpiresAt), "unrestricted": c.Unrestricted,
		"roles": rv, "access_rules": rules,
		"links": self(r, "/users/"+c.UserID+"/application_credentials/"+c.ID),
	}, nil
}

func (a *api) createAppCred(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		AppCred *struct {
			Name         *string `json:"name"`
			Description  *string `json:"description"`
			Secret       *string `json:"secret"`
			ExpiresAt    *string `json:"expires_at"`
			Unrestricted bool    `json:"unrestricted"`
			Roles        []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"roles"`
			AccessRules []identity.AccessRule `json:"access_rules"`
		} `json:"application_credential"`
	}
	if err := apihttp.Decode(w, r, &body); err != nil {
		return err
	}
	ac := body.AppCred
	if ac == nil {
		return invalid("'application_credential' is a required property")
	}
	if ac.Name == nil || *ac.Name == "" {
		return invalid("'name' is a required property")
	}
	n := identity.NewAppCredential{Name: *ac.Name, Unrestricted: ac.Unrestricted, AccessRules: ac.AccessRules}
	if ac.Description != nil {
		n.Description = *ac.Description
	}
	if ac.Secret != nil {
		n.Secret = *ac.Secret
	}
	if ac.ExpiresAt != nil && *ac.ExpiresAt != "" {
		t, err := parseTime(*ac.ExpiresAt)
		if err != nil {
			return invalid("Invalid input for field 'expires_at': '%s' is not a valid date-time", *ac.ExpiresAt)
		}
		n.ExpiresAt = &t
	}
	for _, ro := range ac.Roles {
		if ro.ID != "" {
			n.RoleIDs = append(n.RoleIDs, ro.ID)
		} else if ro.Name != "" {
			n.RoleNames = append(n.RoleNames, ro.Name)
		}
	}
	out, secret, err := a.id.CreateAppCredential(r.Context(), r.PathValue("id"), n)
	if err != nil {
		return err
	}
	v, err := a.appCredView(r, out)
	if err != nil {
		return err
	}
	v["secret"] = secret
	writeOne(w, http.StatusCreated, "application_credential", v)
	return nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, &time.ParseError{Value: s}
}

func (a *api) listAppCreds(w http.ResponseWriter, r *http.Request) error {
	cs, err := a.id.ListAppCredentials(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	views := make([]view, 0, len(cs))
	for _, c := range cs {
		v, err := a.appCredView(r, &c)
		if err != nil {
			return err
		}
		views = append(views, v)
	}
	writeList(w, r, "application_credentials", views)
	return nil
}

func (a *api) getAppCred(w http.ResponseWriter, r *http.Request) error {
	c, err := a.id.GetAppCredential(r.Context(), r.PathValue("id"), r.PathValue("cred"))
	if err != nil {
		return err
	}
	v, err := a.appCredView(r, c)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "application_credential", v)
	return nil
}

func (a *api) deleteAppCred(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteAppCredential(r.Context(), r.PathValue("id"), r.PathValue("cred")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var _ = policy.FromContext

// appCredExpiry renders expires_at as Keystone does for application
// credentials: ISO 8601 with microseconds and no zone suffix (UTC).
func appCredExpiry(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000")
}
