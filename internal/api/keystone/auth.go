package keystone

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/identity"
	"github.com/nubo-cloud/nubo/internal/policy"
)

type nameOrID struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Domain *nameOrID `json:"domain"`
}

type userRef struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Domain   *nameOrID `json:"domain"`
	Password *string   `json:"password"`
}

func (u userRef) ref() identity.UserRef {
	ref := identity.UserRef{ID: u.ID, Name: u.Name}
	if u.Domain != nil {
		ref.DomainID, ref.DomainName = u.Domain.ID, u.Domain.Name
	}
	return ref
}

type authRequest struct {
	Auth *struct {
		Identity *struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User *userRef `json:"user"`
			} `json:"password"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
			AppCred *struct {
				ID     string   `json:"id"`
				Name   string   `json:"name"`
				Secret string   `json:"secret"`
				User   *userRef `json:"user"`
			} `json:"application_credential"`
		} `json:"identity"`
		Scope json.RawMessage `json:"scope"`
	} `json:"auth"`
}

type scopeRequest struct {
	Trust *struct {
		ID string `json:"id"`
	} `json:"OS-TRUST:trust"`
	Project *nameOrID `json:"project"`
	Domain  *nameOrID `json:"domain"`
	System  *struct {
		All bool `json:"all"`
	} `json:"system"`
}

func (req *authRequest) toDomain() (identity.AuthRequest, error) {
	var out identity.AuthRequest
	if req.Auth == nil || req.Auth.Identity == nil {
		return out, invalid("'identity' is a required property")
	}
	idn := req.Auth.Identity
	if idn.Methods == nil {
		return out, invalid("'methods' is a required property")
	}
	out.Methods = idn.Methods
	if idn.Password != nil {
		if idn.Password.User == nil {
			return out, invalid("'user' is a required property")
		}
		u := idn.Password.User
		pw := ""
		if u.Password != nil {
			pw = *u.Password
		}
		out.Password = &identity.PasswordAuth{User: u.ref(), Password: pw}
	}
	if idn.Token != nil {
		out.Token = &idn.Token.ID
	}
	if idn.AppCred != nil {
		ac := &identity.AppCredAuth{ID: idn.AppCred.ID, Name: idn.AppCred.Name, Secret: idn.AppCred.Secret}
		if idn.AppCred.User != nil {
			ac.User = idn.AppCred.User.ref()
		}
		out.AppCred = ac
	}
	raw := req.Auth.Scope
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	if string(raw) == `"unscoped"` {
		out.Scope.Unscoped = true
		return out, nil
	}
	var sc scopeRequest
	if err := json.Unmarshal(raw, &sc); err != nil {
		return out, invalid("Invalid input for field 'scope': %s", string(raw))
	}
	switch {
	case sc.Trust != nil:
		if sc.Trust.ID == "" {
			return out, invalid("Invalid input for field 'scope/OS-TRUST:trust': id is required")
		}
		out.Scope.TrustID = sc.Trust.ID
	case sc.Project != nil:
		out.Scope.ProjectID, out.Scope.ProjectName = sc.Project.ID, sc.Project.Name
		if sc.Project.Domain != nil {
			out.Scope.ProjectDomainID, out.Scope.ProjectDomainName = sc.Project.Domain.ID, sc.Project.Domain.Name
		}
		if sc.Project.ID == "" && sc.Project.Name == "" {
			return out, invalid("Invalid input for field 'scope/project': id or name is required")
		}
	case sc.Domain != nil:
		out.Scope.DomainID, out.Scope.DomainName = sc.Domain.ID, sc.Domain.Name
		if sc.Domain.ID == "" && sc.Domain.Name == "" {
			return out, invalid("Invalid input for field 'scope/domain': id or name is required")
		}
	case sc.System != nil:
		out.Scope.System = sc.System.All
	}
	return out, nil
}

func (a *api) issueToken(w http.ResponseWriter, r *http.Request) error {
	var req authRequest
	if err := apihttp.Decode(w, r, &req); err != nil {
		return err
	}
	ar, err := req.toDomain()
	if err != nil {
		return err
	}
	secret, info, err := a.id.Authenticate(r.Context(), ar)
	if err != nil {
		return err
	}
	body, err := a.tokenView(r, info, r.URL.Query().Has("nocatalog"))
	if err != nil {
		return err
	}
	w.Header().Set("X-Subject-Token", secret)
	writeOne(w, http.StatusCreated, "token", body)
	return nil
}

func (a *api) tokenView(r *http.Request, info *identity.TokenInfo, noCatalog bool) (view, error) {
	t := info.Token
	v := view{
		"methods":    t.Methods,
		"audit_ids":  t.AuditIDs,
		"expires_at": ts(t.ExpiresAt),
		"issued_at":  ts(t.IssuedAt),
		"user": view{
			"id":                  info.User.ID,
			"name":                info.User.Name,
			"domain":              view{"id": info.UserDomain.ID, "name": info.UserDomain.Name},
			"password_expires_at": tsPtr(info.User.PasswordExpires),
		},
	}
	scoped := true
	switch {
	case info.Project != nil:
		v["project"] = view{"id": info.Project.ID, "name": info.Project.Name, "domain": view{"id": info.ProjectDomain.ID, "name": info.ProjectDomain.Name}}
		v["is_domain"] = false
	case info.Domain != nil:
		v["domain"] = view{"id": info.Domain.ID, "name": info.Domain.Name}
	case t.System:
		v["system"] = view{"all": true}
	default:
		scoped = false
	}
	if scoped {
		roles := make([]view, 0, len(info.Roles))
		for _, ro := range info.Roles {
			rv := view{"id": ro.ID, "name": ro.Name}
			if ro.DomainID != "" {
				rv["domain_id"] = ro.DomainID
			}
			roles = append(roles, rv)
		}
		v["roles"] = roles
		if !noCatalog {
			cat, err := a.id.Catalog(r.Context())
			if err != nil {
				return nil, err
			}
			v["catalog"] = cat
		}
	}
	if info.Trust != nil {
		v["OS-TRUST:trust"] = view{
			"id": info.Trust.ID, "impersonation": info.Trust.Impersonation,
			"trustee_user": view{"id": info.Trust.TrusteeUserID}, "trustor_user": view{"id": info.Trust.TrustorUserID},
		}
	}
	if info.AppCred != nil {
		v["application_credential"] = view{"id": info.AppCred.ID, "name": info.AppCred.Name, "restricted": !info.AppCred.Unrestricted}
	}
	return v, nil
}

// subject validates X-Subject-Token; an invalid one is 404 as in Keystone.
func (a *api) subject(r *http.Request) (*identity.TokenInfo, error) {
	tok := r.Header.Get("X-Subject-Token")
	if tok == "" {
		return nil, fault.New(fault.BadRequest, "X-Subject-Token is required.")
	}
	info, err := a.id.ValidateToken(r.Context(), identity.HashToken(tok), r.URL.Query().Has("allow_expired"))
	if errors.Is(err, identity.ErrTokenInvalid) {
		return nil, fault.New(fault.NotFound, "Could not find token: %s.", shorten(tok))
	}
	if err != nil {
		return nil, err
	}
	if !identity.CanValidate(policy.FromContext(r.Context()), info) {
		return nil, fault.New(fault.Forbidden, "You are not authorized to perform the requested action: identity:validate_token.")
	}
	return info, nil
}

// shorten keeps token secrets out of messages and logs.
func shorten(tok string) string {
	if len(tok) > 8 {
		return tok[:8] + "…"
	}
	return tok
}

func (a *api) validateToken(w http.ResponseWriter, r *http.Request) error {
	info, err := a.subject(r)
	if err != nil {
		return err
	}
	body, err := a.tokenView(r, info, r.URL.Query().Has("nocatalog"))
	if err != nil {
		return err
	}
	w.Header().Set("X-Subject-Token", r.Header.Get("X-Subject-Token"))
	writeOne(w, http.StatusOK, "token", body)
	return nil
}

func (a *api) checkToken(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.subject(r); err != nil {
		return err
	}
	w.Header().Set("X-Subject-Token", r.Header.Get("X-Subject-Token"))
	w.WriteHeader(http.StatusOK)
	return nil
}

func (a *api) revokeToken(w http.ResponseWriter, r *http.Request) error {
	tok := r.Header.Get("X-Subject-Token")
	if tok == "" {
		return fault.New(fault.BadRequest, "X-Subject-Token is required.")
	}
	err := a.id.RevokeToken(r.Context(), identity.HashToken(tok))
	if errors.Is(err, identity.ErrTokenInvalid) {
		return fault.New(fault.NotFound, "Could not find token: %s.", shorten(tok))
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) authCatalog(w http.ResponseWriter, r *http.Request) error {
	if !policy.FromContext(r.Context()).Scoped() {
		return fault.New(fault.Forbidden, "A scoped token is required to get the catalog.")
	}
	cat, err := a.id.Catalog(r.Context())
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"catalog": cat, "links": map[string]any{"self": apihttp.BaseURL(r) + r.URL.Path, "previous": nil, "next": nil}})
	return nil
}

func (a *api) authProjects(w http.ResponseWriter, r *http.Request) error {
	c := policy.FromContext(r.Context())
	ps, err := a.id.ListUserProjects(r.Context(), c.UserID)
	if err != nil {
		return err
	}
	views := make([]view, 0, len(ps))
	for _, p := range ps {
		views = append(views, projectView(r, &p))
	}
	writeList(w, r, "projects", views)
	return nil
}

func (a *api) authDomains(w http.ResponseWriter, r *http.Request) error {
	c := policy.FromContext(r.Context())
	ds, err := a.id.ListUserDomains(r.Context(), c.UserID)
	if err != nil {
		return err
	}
	views := make([]view, 0, len(ds))
	for _, d := range ds {
		views = append(views, domainView(r, &d))
	}
	writeList(w, r, "domains", views)
	return nil
}

func (a *api) authSystem(w http.ResponseWriter, r *http.Request) error {
	c := policy.FromContext(r.Context())
	ok, err := a.id.HasSystemRoles(r.Context(), c.UserID)
	if err != nil {
		return err
	}
	sys := []view{}
	if ok {
		sys = append(sys, view{"all": true})
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"system": sys, "links": map[string]any{"self": apihttp.BaseURL(r) + r.URL.Path, "previous": nil, "next": nil}})
	return nil
}
