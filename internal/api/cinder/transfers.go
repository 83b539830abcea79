package cinder

import (
	"net/http"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/volume"
)

// transferCollection is the path a request came by: os-volume-transfer
// (every version) or volume-transfers (3.55+).
func transferCollection(r *http.Request) (string, error) {
	if strings.Contains(r.URL.Path, "/volume-transfers") {
		if !mv(r).AtLeast(3, 55) {
			return "", notFoundPath()
		}
		return "volume-transfers", nil
	}
	return "os-volume-transfer", nil
}

func transferView(r *http.Request, coll string, t *volume.Transfer, detail bool) map[string]any {
	out := map[string]any{"id": t.ID, "name": nullable(t.Name), "volume_id": t.VolumeID,
		"links": links(r, t.ProjectID, coll, t.ID)}
	if !detail {
		return out
	}
	out["created_at"] = ts(t.CreatedAt)
	if mv(r).AtLeast(3, 55) {
		out["no_snapshots"] = t.NoSnapshots
	}
	if mv(r).AtLeast(3, 57) {
		out["source_project_id"], out["destination_project_id"], out["accepted"] = t.ProjectID, nil, false
	}
	return out
}

func (a *api) createTransfer(w http.ResponseWriter, r *http.Request) error {
	coll, err := transferCollection(r)
	if err != nil {
		return err
	}
	m, err := body(w, r, "transfer")
	if err != nil {
		return err
	}
	volID, err := strOr(m, "volume_id")
	if err != nil {
		return err
	}
	if volID == "" {
		return badRequest("Invalid input received: 'volume_id' is a required property.")
	}
	name, err := strOr(m, "name")
	if err != nil {
		return err
	}
	noSnaps := false
	if mv(r).AtLeast(3, 55) {
		if noSnaps, _, err = boolField(m, "no_snapshots"); err != nil {
			return err
		}
	}
	t, key, err := a.v.CreateTransfer(r.Context(), volID, name, noSnaps)
	if err != nil {
		return err
	}
	out := transferView(r, coll, t, true)
	out["auth_key"] = key
	apihttp.WriteJSON(w, http.StatusAccepted, map[string]any{"transfer": out})
	return nil
}

func (a *api) getTransfer(w http.ResponseWriter, r *http.Request) error {
	coll, err := transferCollection(r)
	if err != nil {
		return err
	}
	t, err := a.v.GetTransfer(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"transfer": transferView(r, coll, t, true)})
	return nil
}

func (a *api) listTransfers(w http.ResponseWriter, r *http.Request) error {
	return a.listTransfersAs(w, r, false)
}

func (a *api) listTransfersDetail(w http.ResponseWriter, r *http.Request) error {
	return a.listTransfersAs(w, r, true)
}

func (a *api) listTransfersAs(w http.ResponseWriter, r *http.Request, detail bool) error {
	coll, err := transferCollection(r)
	if err != nil {
		return err
	}
	ts, err := a.v.ListTransfers(r.Context(), allTenants(r.URL.Query()))
	if err != nil {
		return err
	}
	return writePage(w, r, ts, func(t volume.Transfer) string { return t.ID },
		func(x *volume.Transfer) map[string]any { return transferView(r, coll, x, detail) }, "transfers", "transfers_links")
}

func (a *api) deleteTransfer(w http.ResponseWriter, r *http.Request) error {
	if _, err := transferCollection(r); err != nil {
		return err
	}
	if err := a.v.DeleteTransfer(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) acceptTransfer(w http.ResponseWriter, r *http.Request) error {
	coll, err := transferCollection(r)
	if err != nil {
		return err
	}
	m, err := body(w, r, "accept")
	if err != nil {
		return err
	}
	key, err := strOr(m, "auth_key")
	if err != nil {
		return err
	}
	if key == "" {
		return fault.New(fault.BadRequest, "Invalid input received: 'auth_key' is a required property.")
	}
	t, err := a.v.AcceptTransfer(r.Context(), r.PathValue("id"), key)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusAccepted, map[string]any{"transfer": transferView(r, coll, t, false)})
	return nil
}
