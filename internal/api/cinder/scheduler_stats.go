package cinder

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/volume"
)

// getPools: GET /scheduler-stats/get_pools[?detail=true] (admin).
func (a *api) getPools(w http.ResponseWriter, r *http.Request) error {
	if !creds(r).IsAdmin() {
		return fault.New(fault.Forbidden, "Policy doesn't allow scheduler_extension:scheduler_stats:get_pools to be performed.")
	}
	pools, err := a.v.Pools(r.Context())
	if err != nil {
		return err
	}
	q := r.URL.Query()
	detail, _ := parseBool(q.Get("detail"))
	now := ts(a.v.Now())
	out := []map[string]any{}
	for _, p := range pools {
		if n := q.Get("name"); n != "" && n != p.Name {
			continue
		}
		if vt := q.Get("volume_type"); vt != "" && mv(r).AtLeast(3, 35) {
			if _, err := a.v.GetType(r.Context(), vt); err != nil {
				return err
			}
		}
		pv := map[string]any{"name": p.Name}
		if detail {
			pv["capabilities"] = map[string]any{"pool_name": p.BackendName, "volume_backend_name": p.BackendName,
				"vendor_name": p.Vendor, "storage_protocol": p.Protocol, "driver_version": p.DriverVersion,
				"total_capacity_gb": "infinite", "free_capacity_gb": "infinite", "allocated_capacity_gb": p.AllocatedGB,
				"reserved_percentage": 0, "QoS_support": false, "thin_provisioning_support": true,
				"multiattach": true, "timestamp": now, "updated": now}
		}
		out = append(out, pv)
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"pools": out})
	return nil
}

// showCapabilities: GET /capabilities/{host} (admin): what the backend
// on host@backend offers.
func (a *api) showCapabilities(w http.ResponseWriter, r *http.Request) error {
	if !creds(r).IsAdmin() {
		return fault.New(fault.Forbidden, "Policy doesn't allow volume_extension:capabilities to be performed.")
	}
	p, err := a.v.BackendPool(r.Context(), r.PathValue("host"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, capabilitiesView(a, p))
	return nil
}

func capabilitiesView(a *api, p *volume.Pool) map[string]any {
	return map[string]any{"namespace": "OS::Storage::Capabilities::" + a.v.BackendHost(),
		"volume_backend_name": p.BackendName, "vendor_name": p.Vendor, "storage_protocol": p.Protocol,
		"driver_version": p.DriverVersion, "pool_name": nil, "display_name": nil, "description": nil,
		"visibility": nil, "replication_targets": []any{}, "properties": map[string]any{}}
}
