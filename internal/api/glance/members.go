package glance

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
)

func (a *api) createMember(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Member *string `json:"member"`
	}
	if err := apihttp.Decode(w, r, &body); err != nil {
		return err
	}
	if body.Member == nil {
		return fault.New(fault.BadRequest, "Member to be added not specified")
	}
	m, err := a.img.AddMember(r.Context(), r.PathValue("id"), *body.Member)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, memberView(m))
	return nil
}

func (a *api) listMembers(w http.ResponseWriter, r *http.Request) error {
	ms, err := a.img.ListMembers(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	views := make([]map[string]any, 0, len(ms))
	for i := range ms {
		views = append(views, memberView(&ms[i]))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"members": views, "schema": "/v2/schemas/members"})
	return nil
}

func (a *api) showMember(w http.ResponseWriter, r *http.Request) error {
	m, err := a.img.GetMember(r.Context(), r.PathValue("id"), r.PathValue("member"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, memberView(m))
	return nil
}

func (a *api) updateMember(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Status *string `json:"status"`
	}
	if err := apihttp.Decode(w, r, &body); err != nil {
		return err
	}
	if body.Status == nil {
		return fault.New(fault.BadRequest, "Status not specified")
	}
	m, err := a.img.UpdateMember(r.Context(), r.PathValue("id"), r.PathValue("member"), *body.Status)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, memberView(m))
	return nil
}

func (a *api) deleteMember(w http.ResponseWriter, r *http.Request) error {
	if err := a.img.DeleteMember(r.Context(), r.PathValue("id"), r.PathValue("member")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
