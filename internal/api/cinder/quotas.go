package cinder

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
)

func (a *api) getQuotaSet(w http.ResponseWriter, r *http.Request) error {
	project := r.PathValue("project")
	q, err := a.v.QuotaSet(r.Context(), project)
	if err != nil {
		return err
	}
	usage, _ := parseBool(r.URL.Query().Get("usage"))
	out := map[string]any{"id": project}
	for k, u := range q {
		if usage {
			out[k] = map[string]int64{"limit": u.Limit, "in_use": u.InUse, "reserved": u.Reserved, "allocated": u.Allocated}
		} else {
			out[k] = u.Limit
		}
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": out})
	return nil
}

func (a *api) getQuotaDefaults(w http.ResponseWriter, r *http.Request) error {
	project := r.PathValue("project")
	d, err := a.v.QuotaDefaultsFor(r.Context(), project)
	if err != nil {
		return err
	}
	out := map[string]any{"id": project}
	for k, v := range d {
		out[k] = v
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": out})
	return nil
}

func quotaBody(w http.ResponseWriter, r *http.Request, envelope string) (map[string]int64, error) {
	m, err := body(w, r, envelope)
	if err != nil {
		return nil, err
	}
	set := map[string]int64{}
	for k := range m {
		if k == "id" || k == "tenant_id" || k == "class_name" {
			continue
		}
		n, _, err := intField(m, k)
		if err != nil {
			return nil, err
		}
		set[k] = n
	}
	return set, nil
}

func (a *api) updateQuotaSet(w http.ResponseWriter, r *http.Request) error {
	set, err := quotaBody(w, r, "quota_set")
	if err != nil {
		return err
	}
	lim, err := a.v.UpdateQuotaSet(r.Context(), r.PathValue("project"), set)
	if err != nil {
		return err
	}
	out := map[string]any{}
	for k, v := range lim {
		out[k] = v
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": out})
	return nil
}

func (a *api) deleteQuotaSet(w http.ResponseWriter, r *http.Request) error {
	if err := a.v.DeleteQuotaSet(r.Context(), r.PathValue("project")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (a *api) getQuotaClass(w http.ResponseWriter, r *http.Request) error {
	class := r.PathValue("class")
	lim, err := a.v.QuotaClass(r.Context(), class)
	if err != nil {
		return err
	}
	out := map[string]any{"id": class}
	for k, v := range lim {
		out[k] = v
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quota_class_set": out})
	return nil
}

func (a *api) updateQuotaClass(w http.ResponseWriter, r *http.Request) error {
	set, err := quotaBody(w, r, "quota_class_set")
	if err != nil {
		return err
	}
	lim, err := a.v.UpdateQuotaClass(r.Context(), r.PathValue("class"), set)
	if err != nil {
		return err
	}
	out := map[string]any{}
	for k, v := range lim {
		out[k] = v
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quota_class_set": out})
	return nil
}

// limits answers GET /limits: the caller's project's absolute limits and use.
func (a *api) limits(w http.ResponseWriter, r *http.Request) error {
	project := creds(r).ProjectID
	q, err := a.v.QuotaSet(r.Context(), project)
	if err != nil {
		return err
	}
	abs := map[string]int64{
		"maxTotalVolumes": q["volumes"].Limit, "maxTotalSnapshots": q["snapshots"].Limit,
		"maxTotalVolumeGigabytes": q["gigabytes"].Limit, "maxTotalBackups": q["backups"].Limit,
		"maxTotalBackupGigabytes": q["backup_gigabytes"].Limit,
		"totalVolumesUsed":        q["volumes"].InUse, "totalSnapshotsUsed": q["snapshots"].InUse,
		"totalGigabytesUsed": q["gigabytes"].InUse, "totalBackupsUsed": q["backups"].InUse,
		"totalBackupGigabytesUsed": q["backup_gigabytes"].InUse,
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": abs}})
	return nil
}
