package cinder

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
)

func (a *api) listZones(w http.ResponseWriter, r *http.Request) error {
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": []map[string]any{
		{"zoneName": a.v.Config().AvailabilityZone, "zoneState": map[string]bool{"available": true}}}})
	return nil
}

// listServices shows the one process that does all of Cinder's jobs as
// Cinder's three services (admin only).
func (a *api) listServices(w http.ResponseWriter, r *http.Request) error {
	if !creds(r).IsAdmin() {
		return fault.New(fault.Forbidden, "Policy doesn't allow volume_extension:services:index to be performed.")
	}
	q := r.URL.Query()
	host := "nubo"
	now := ts(a.v.Now())
	all := []map[string]any{
		{"binary": "cinder-scheduler", "host": host},
		{"binary": "cinder-volume", "host": host + "@" + a.v.Driver().Name()},
		{"binary": "cinder-backup", "host": host},
	}
	out := []map[string]any{}
	for _, s := range all {
		if b := q.Get("binary"); b != "" && b != s["binary"] {
			continue
		}
		if h := q.Get("host"); h != "" && h != s["host"] && h+"@"+a.v.Driver().Name() != s["host"] {
			continue
		}
		s["zone"], s["status"], s["state"], s["updated_at"] = a.v.Config().AvailabilityZone, "enabled", "up", now
		s["disabled_reason"], s["frozen"] = nil, false
		if s["binary"] == "cinder-volume" {
			s["replication_status"], s["active_backend_id"] = "disabled", nil
			if mv(r).AtLeast(3, 49) {
				s["backend_state"] = "up"
			}
		}
		if mv(r).AtLeast(3, 7) {
			s["cluster"] = nil
		}
		out = append(out, s)
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"services": out})
	return nil
}

// extensions lists the API extensions Cinder still reports.
func (a *api) listExtensions(w http.ResponseWriter, r *http.Request) error {
	exts := []struct{ alias, name, desc string }{
		{"os-availability-zone", "AvailabilityZones", "Describe Availability Zones."},
		{"os-extended-snapshot-attributes", "ExtendedSnapshotAttributes", "Extended SnapshotAttributes support."},
		{"os-quota-sets", "Quotas", "Quota management support."},
		{"os-quota-class-sets", "QuotaClasses", "Quota classes management support."},
		{"os-services", "Services", "Services support."},
		{"os-types-extra-specs", "TypesExtraSpecs", "Type extra specs support."},
		{"os-types-manage", "TypesManage", "Types manage support."},
		{"os-volume-actions", "VolumeActions", "Enable volume actions."},
		{"os-volume-type-access", "VolumeTypeAccess", "Volume type access support."},
		{"os-vol-host-attr", "VolumeHostAttribute", "Expose host as an attribute of a volume."},
		{"os-vol-tenant-attr", "VolumeTenantAttribute", "Expose the internal project_id as an attribute of a volume."},
		{"os-vol-mig-status-attr", "VolumeMigStatusAttribute", "Expose migration_status as an attribute of a volume."},
		{"os-vol-image-meta", "VolumeImageMetadata", "Show image metadata associated with the volume."},
		{"os-admin-actions", "AdminActions", "Enable admin actions."},
		{"backups", "Backups", "Backups support."},
		{"os-hosts", "Hosts", "Admin-only host administration."},
		{"os-snapshot-actions", "SnapshotActions", "Enable snapshot actions."},
	}
	out := []map[string]any{}
	for _, e := range exts {
		out = append(out, map[string]any{"alias": e.alias, "name": e.name, "description": e.desc,
			"updated": "2013-01-01T00:00:00+00:00", "links": []any{}, "namespace": ""})
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"extensions": out})
	return nil
}
