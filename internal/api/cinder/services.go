package cinder

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/volume"
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
	all, err := a.v.Services(r.Context())
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out := []map[string]any{}
	for _, svc := range all {
		if b := q.Get("binary"); b != "" && b != svc.Binary {
			continue
		}
		if h := q.Get("host"); h != "" && h != svc.Host && h+"@"+a.v.Driver().Name() != svc.Host {
			continue
		}
		s := map[string]any{"binary": svc.Binary, "host": svc.Host, "zone": a.v.Config().AvailabilityZone,
			"status": serviceStatus(svc.Disabled), "state": "up", "updated_at": ts(svc.UpdatedAt),
			"disabled_reason": nullable(svc.DisabledReason), "frozen": svc.Frozen}
		if svc.Binary == volume.BinaryVolume {
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

func serviceStatus(disabled bool) string {
	if disabled {
		return "disabled"
	}
	return "enabled"
}

// serviceAction: PUT /os-services/{enable,disable,disable-log-reason,freeze,thaw} (admin).
func (a *api) serviceAction(w http.ResponseWriter, r *http.Request) error {
	action := r.PathValue("action")
	switch action {
	case "enable", "disable", "disable-log-reason", "freeze", "thaw":
	default:
		return fault.New(fault.NotFound, "Unknown action")
	}
	if !creds(r).IsAdmin() {
		return fault.New(fault.Forbidden, "Policy doesn't allow volume_extension:services:update to be performed.")
	}
	m, err := body(w, r, "")
	if err != nil {
		return err
	}
	host, err := strOr(m, "host")
	if err != nil {
		return err
	}
	if action == "freeze" || action == "thaw" {
		if host == "" {
			return badRequest("Missing required element 'host' in request body.")
		}
		if err := a.v.SetHostFrozen(r.Context(), host, action == "freeze"); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	binary, err := strOr(m, "binary", "service")
	if err != nil {
		return err
	}
	if host == "" || binary == "" {
		return badRequest("Missing required element 'host' or 'binary' in request body.")
	}
	reason := ""
	if action == "disable-log-reason" {
		rs, err := str(m, "disabled_reason")
		if err != nil {
			return err
		}
		if rs == nil || *rs == "" {
			return badRequest("Invalid input received: Disabled reason contains invalid characters or is too long")
		}
		reason = *rs
	}
	svc, err := a.v.SetServiceDisabled(r.Context(), host, binary, action != "enable", reason)
	if err != nil {
		return err
	}
	out := map[string]any{"host": svc.Host, "service": svc.Binary, "binary": svc.Binary,
		"disabled": svc.Disabled, "status": serviceStatus(svc.Disabled)}
	if action != "disable" {
		out["disabled_reason"] = nullable(svc.DisabledReason)
	}
	apihttp.WriteJSON(w, http.StatusOK, out)
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
