package cinder

import (
	"net/http"
	"strconv"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
)

// listHosts: GET /os-hosts (admin), one entry per service.
func (a *api) listHosts(w http.ResponseWriter, r *http.Request) error {
	if !creds(r).IsAdmin() {
		return fault.New(fault.Forbidden, "Policy doesn't allow volume_extension:hosts to be performed.")
	}
	all, err := a.v.Services(r.Context())
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, svc := range all {
		if z := r.URL.Query().Get("zone"); z != "" && z != a.v.Config().AvailabilityZone {
			continue
		}
		out = append(out, map[string]any{"host_name": svc.Host, "service": svc.Binary,
			"zone": a.v.Config().AvailabilityZone, "service-status": "available",
			"service-state": serviceStatus(svc.Disabled), "last-update": ts(svc.UpdatedAt)})
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"hosts": out})
	return nil
}

// showHost: GET /os-hosts/{host} (admin): volumes and snapshots on a
// volume host, in total and per project (counts as strings, as Cinder).
func (a *api) showHost(w http.ResponseWriter, r *http.Request) error {
	if !creds(r).IsAdmin() {
		return fault.New(fault.Forbidden, "Policy doesn't allow volume_extension:hosts to be performed.")
	}
	host := r.PathValue("host")
	use, err := a.v.HostUsage(r.Context(), host)
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, u := range use {
		out = append(out, map[string]any{"resource": map[string]string{"host": host, "project": u.Project,
			"volume_count": strconv.FormatInt(u.VolumeCount, 10), "total_volume_gb": strconv.FormatInt(u.TotalVolumeGB, 10),
			"snapshot_count": strconv.FormatInt(u.SnapshotCount, 10), "total_snapshot_gb": strconv.FormatInt(u.TotalSnapshotGB, 10)}})
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"host": out})
	return nil
}
