package keystone

import (
	"encoding/json"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/identity"
)

func userView(r *http.Request, u *identity.User) view {
	v := view{
		"id": u.ID, "name": u.Name, "domain_id": u.DomainID, "enabled": u.Enabled,
		"password_expires_at": tsPtr(u.PasswordExpires), "options": orEmptyMap(u.Options),
		"links": self(r, "/users/"+u.ID),
	}
	if u.DefaultProjectID != "" {
		v["default_project_id"] = u.DefaultProjectID
	}
	if u.Description != "" {
		v["description"] = u.Description
	}
	return withExtra(v, u.Extra)
}

var userFields = []string{"name", "description", "enabled", "options", "domain_id", "default_project_id", "password"}

func applyUser(f fields, u *identity.User, create bool) (*string, error) {
	if err := f.name(&u.Name, create); err != nil {
		return nil, err
	}
	if err := f.str("description", &u.Description, true); err != nil {
		return nil, err
	}
	if err := f.boolean("enabled", &u.Enabled); err != nil {
		return nil, err
	}
	if err := f.object("options", &u.Options); err != nil {
		return nil, err
	}
	if err := f.str("domain_id", &u.DomainID, true); err != nil {
		return nil, err
	}
	if err := f.str("default_project_id", &u.DefaultProjectID, true); err != nil {
		return nil, err
	}
	var pw *string
	if f.has("password") && !f.isNull("password") {
		var s string
		if err := f.str("password", &s, false); err != nil {
			return nil, err
		}
		pw = &s
	}
	u.Extra = f.extra(u.Extra, userFields...)
	return pw, nil
}

func (a *api) createUser(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "user")
	if err != nil {
		return err
	}
	u := identity.User{Enabled: true}
	pw, err := applyUser(f, &u, true)
	if err != nil {
		return err
	}
	out, err := a.id.CreateUser(r.Context(), u, pw)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusCreated, "user", userView(r, out))
	return nil
}

func (a *api) listUsers(w http.ResponseWriter, r *http.Request) error {
	us, err := a.id.ListUsers(r.Context(), r.URL.Query().Get("domain_id"))
	if err != nil {
		return err
	}
	views := make([]view, 0, len(us))
	for _, u := range us {
		views = append(views, userView(r, &u))
	}
	writeList(w, r, "users", views)
	return nil
}

func (a *api) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := a.id.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "user", userView(r, u))
	return nil
}

func (a *api) updateUser(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "user")
	if err != nil {
		return err
	}
	// Validate the body once before touching the store, to learn the password.
	var probe identity.User
	pw, err := applyUser(f, &probe, false)
	if err != nil {
		return err
	}
	u, err := a.id.UpdateUser(r.Context(), r.PathValue("id"), pw, func(u *identity.User) error {
		_, err := applyUser(f, u, false)
		return err
	})
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "user", userView(r, u))
	return nil
}

func (a *api) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteUser(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) changePassword(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		User *struct {
			Password         *string `json:"password"`
			OriginalPassword *string `json:"original_password"`
		} `json:"user"`
	}
	if err := apihttp.Decode(w, r, &body); err != nil {
		return err
	}
	if body.User == nil || body.User.Password == nil || body.User.OriginalPassword == nil {
		return invalid("'password' and 'original_password' are required properties")
	}
	if err := a.id.ChangePassword(r.Context(), r.PathValue("id"), *body.User.OriginalPassword, *body.User.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) listUserProjects(w http.ResponseWriter, r *http.Request) error {
	ps, err := a.id.ListUserProjects(r.Context(), r.PathValue("id"))
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

func (a *api) listUserGroups(w http.ResponseWriter, r *http.Request) error {
	gs, err := a.id.ListUserGroups(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	views := make([]view, 0, len(gs))
	for _, g := range gs {
		views = append(views, groupView(r, &g))
	}
	writeList(w, r, "groups", views)
	return nil
}

func groupView(r *http.Request, g *identity.Group) view {
	return withExtra(view{
		"id": g.ID, "name": g.Name, "domain_id": g.DomainID, "description": g.Description,
		"links": self(r, "/groups/"+g.ID),
	}, g.Extra)
}

var groupFields = []string{"name", "description", "domain_id"}

func applyGroup(f fields, g *identity.Group, create bool) error {
	if err := f.nameMax(&g.Name, create, 64); err != nil {
		return err
	}
	if err := f.str("description", &g.Description, true); err != nil {
		return err
	}
	if err := f.str("domain_id", &g.DomainID, true); err != nil {
		return err
	}
	g.Extra = f.extra(g.Extra, groupFields...)
	return nil
}

func (a *api) createGroup(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "group")
	if err != nil {
		return err
	}
	var g identity.Group
	if err := applyGroup(f, &g, true); err != nil {
		return err
	}
	out, err := a.id.CreateGroup(r.Context(), g)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusCreated, "group", groupView(r, out))
	return nil
}

func (a *api) listGroups(w http.ResponseWriter, r *http.Request) error {
	gs, err := a.id.ListGroups(r.Context(), r.URL.Query().Get("domain_id"))
	if err != nil {
		return err
	}
	views := make([]view, 0, len(gs))
	for _, g := range gs {
		views = append(views, groupView(r, &g))
	}
	writeList(w, r, "groups", views)
	return nil
}

func (a *api) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := a.id.GetGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "group", groupView(r, g))
	return nil
}

func (a *api) updateGroup(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "group")
	if err != nil {
		return err
	}
	g, err := a.id.UpdateGroup(r.Context(), r.PathValue("id"), func(g *identity.Group) error { return applyGroup(f, g, false) })
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "group", groupView(r, g))
	return nil
}

func (a *api) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteGroup(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) listGroupUsers(w http.ResponseWriter, r *http.Request) error {
	us, err := a.id.ListGroupUsers(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	views := make([]view, 0, len(us))
	for _, u := range us {
		views = append(views, userView(r, &u))
	}
	writeList(w, r, "users", views)
	return nil
}

func (a *api) addGroupUser(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.AddUserToGroup(r.Context(), r.PathValue("id"), r.PathValue("user")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) checkGroupUser(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.CheckUserInGroup(r.Context(), r.PathValue("id"), r.PathValue("user")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) removeGroupUser(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.RemoveUserFromGroup(r.Context(), r.PathValue("id"), r.PathValue("user")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var _ = json.RawMessage{}
