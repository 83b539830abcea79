package cinder

import (
	"net/http"
	"strings"
	"time"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/volume"
)

type volAttachmentView struct {
	ServerID     *string `json:"server_id"`
	AttachmentID string  `json:"attachment_id"`
	AttachedAt   *string `json:"attached_at"`
	HostName     *string `json:"host_name"`
	VolumeID     string  `json:"volume_id"`
	Device       *string `json:"device"`
	ID           string  `json:"id"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// volumeView renders a volume as Cinder does at the request's microversion.
func (a *api) volumeView(r *http.Request, v *volume.Volume, typeNames map[string]string) map[string]any {
	out := a.volumeBaseView(r, v, typeNames)
	// Show and detail carry the extension attributes; create and update
	// answers do not (Cinder adds them in its show/detail extensions).
	out["os-vol-tenant-attr:tenant_id"] = v.ProjectID
	if len(v.ImageMetadata) > 0 {
		out["volume_image_metadata"] = v.ImageMetadata
	}
	if c := creds(r); c.IsAdmin() {
		out["os-vol-host-attr:host"] = a.v.Host()
		out["os-vol-mig-status-attr:migstat"] = nil
		out["os-vol-mig-status-attr:name_id"] = nil
	}
	return out
}

// volumeBaseView renders a volume without the extension attributes.
func (a *api) volumeBaseView(r *http.Request, v *volume.Volume, typeNames map[string]string) map[string]any {
	atts := []volAttachmentView{}
	for _, at := range v.Attachments {
		if at.Status != volume.AttachStatusAttached && at.Status != volume.AttachStatusDetaching {
			continue
		}
		atts = append(atts, volAttachmentView{ServerID: nullable(at.ServerID), AttachmentID: at.ID, AttachedAt: tsPtr(at.AttachedAt),
			HostName: nullable(at.HostName), VolumeID: v.ID, Device: nullable(at.Device), ID: v.ID})
	}
	md := v.Metadata
	if md == nil {
		md = map[string]string{}
	}
	out := map[string]any{
		"id": v.ID, "name": v.Name, "description": nullable(v.Description), "size": v.Size, "status": v.Status,
		"availability_zone": v.AvailabilityZone, "attachments": atts, "links": links(r, v.ProjectID, "volumes", v.ID),
		"encrypted": false, "updated_at": ts(v.UpdatedAt), "created_at": ts(v.CreatedAt), "replication_status": nil,
		"snapshot_id": nullable(v.SnapshotID), "source_volid": nullable(v.SourceVolID), "user_id": v.UserID,
		"metadata": md, "multiattach": v.Multiattach, "consistencygroup_id": nil,
		"bootable": boolStr(v.Bootable), "volume_type": typeNames[v.TypeID], "migration_status": nil,
	}
	m := mv(r)
	if m.AtLeast(3, 13) {
		out["group_id"] = nullable(v.GroupID)
	}
	if m.AtLeast(3, 21) {
		out["provider_id"] = nil
	}
	if m.AtLeast(3, 48) {
		out["service_uuid"] = serviceUUID
		out["shared_targets"] = false
	}
	return out
}

// serviceUUID identifies the one volume service.
const serviceUUID = "5c1b2c3e-9d2f-4c8e-8a3e-6e7f0b1c2d3e"

func cloneStr(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (a *api) createVolume(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "volume")
	if err != nil {
		return err
	}
	var req volume.CreateRequest
	size, hasSize, err := intField(m, "size")
	if err != nil {
		return err
	}
	if hasSize && size <= 0 {
		return badRequest("Invalid input received: Volume size '%d' must be an integer and greater than 0.", size)
	}
	req.Size = size
	if req.Name, err = strOr(m, "name", "display_name"); err != nil {
		return err
	}
	if req.Description, err = strOr(m, "description", "display_description"); err != nil {
		return err
	}
	if req.Type, err = strOr(m, "volume_type"); err != nil {
		return err
	}
	if req.AvailabilityZone, err = strOr(m, "availability_zone"); err != nil {
		return err
	}
	if req.SnapshotID, err = strOr(m, "snapshot_id"); err != nil {
		return err
	}
	if req.SourceVolID, err = strOr(m, "source_volid"); err != nil {
		return err
	}
	if req.ImageID, err = strOr(m, "imageRef", "image_id"); err != nil {
		return err
	}
	if mv(r).AtLeast(3, 47) {
		if req.BackupID, err = strOr(m, "backup_id"); err != nil {
			return err
		}
	}
	if mv(r).AtLeast(3, 13) {
		if req.GroupID, err = strOr(m, "group_id"); err != nil {
			return err
		}
	}
	if req.Metadata, err = strMap(m, "metadata"); err != nil {
		return err
	}
	if req.Multiattach, _, err = boolField(m, "multiattach"); err != nil {
		return err
	}
	if sh, err := strMap(m, "scheduler_hints"); err == nil && sh != nil {
		req.Format = sh["nubo:format"]
	}
	if req.Format == "" && req.Metadata != nil {
		// Raw on request: metadata {"nubo:format": "raw"} (qcow2 default).
		req.Format = req.Metadata["nubo:format"]
	}
	v, err := a.v.Create(r.Context(), req)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusAccepted, map[string]any{"volume": a.volumeBaseView(r, v, a.v.TypeNames(r.Context()))})
	return nil
}

func (a *api) getVolume(w http.ResponseWriter, r *http.Request) error {
	v, err := a.v.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"volume": a.volumeView(r, v, a.v.TypeNames(r.Context()))})
	return nil
}

func listOptions(r *http.Request, filters ...string) (volume.ListOptions, error) {
	q := r.URL.Query()
	o := volume.ListOptions{AllProjects: allTenants(q), ProjectID: q.Get("project_id"), Sort: sortParams(q), Filters: map[string]string{}}
	for _, f := range filters {
		if q.Has(f) {
			o.Filters[f] = q.Get(f)
		}
	}
	var err error
	if o.Metadata, err = metadataParam(q.Get("metadata")); err != nil {
		return o, err
	}
	if mv(r).AtLeast(3, 60) {
		for name, dst := range map[string]**time.Time{"created_at": &o.CreatedAfter, "updated_at": &o.UpdatedAfter} {
			val := q.Get(name)
			if val == "" {
				continue
			}
			op, t, ok := strings.Cut(val, ":")
			if !ok {
				return o, badRequest("Invalid input received: Invalid filter %s=%s.", name, val)
			}
			at, err := time.Parse(time.RFC3339, t)
			if err != nil {
				if at, err = time.Parse("2006-01-02T15:04:05", t); err != nil {
					return o, badRequest("Invalid input received: Invalid time %s.", t)
				}
			}
			switch op {
			case "gt", "gte":
				*dst = &at
			case "lt", "lte":
				if name == "created_at" {
					o.CreatedBefore = &at
				} else {
					o.UpdatedBefore = &at
				}
			default:
				return o, badRequest("Invalid input received: Invalid operator %s.", op)
			}
		}
	}
	return o, nil
}

var volumeFilters = []string{"name", "display_name", "status", "availability_zone", "bootable", "multiattach", "volume_type", "image_id", "attach_status"}

func (a *api) listVolumesAny(w http.ResponseWriter, r *http.Request, detail bool) error {
	o, err := listOptions(r, volumeFilters...)
	if err != nil {
		return err
	}
	vols, err := a.v.List(r.Context(), o)
	if err != nil {
		return err
	}
	page, next, err := paginate(r, vols, func(v volume.Volume) string { return v.ID })
	if err != nil {
		return err
	}
	names := a.v.TypeNames(r.Context())
	items := make([]map[string]any, 0, len(page))
	for i := range page {
		if detail {
			items = append(items, a.volumeView(r, &page[i], names))
		} else {
			items = append(items, map[string]any{"id": page[i].ID, "name": page[i].Name, "links": links(r, page[i].ProjectID, "volumes", page[i].ID)})
		}
	}
	out := map[string]any{"volumes": items}
	if next != nil {
		out["volumes_links"] = next
	}
	if mv(r).AtLeast(3, 45) && r.URL.Query().Get("with_count") == "true" {
		out["count"] = len(vols)
	}
	apihttp.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *api) listVolumes(w http.ResponseWriter, r *http.Request) error {
	return a.listVolumesAny(w, r, false)
}

func (a *api) listVolumesDetail(w http.ResponseWriter, r *http.Request) error {
	return a.listVolumesAny(w, r, true)
}

func (a *api) volumeSummary(w http.ResponseWriter, r *http.Request) error {
	if !mv(r).AtLeast(3, 12) {
		return notFoundPath()
	}
	vols, err := a.v.List(r.Context(), volume.ListOptions{AllProjects: allTenants(r.URL.Query())})
	if err != nil {
		return err
	}
	var size int64
	for _, v := range vols {
		size += v.Size
	}
	summary := map[string]any{"total_size": size, "total_count": len(vols)}
	if mv(r).AtLeast(3, 36) {
		summary["metadata"] = map[string]any{}
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"volume-summary": summary})
	return nil
}

func (a *api) updateVolume(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "volume")
	if err != nil {
		return err
	}
	if len(m) == 0 {
		return badRequest("Invalid input received: Missing required element 'volume' fields.")
	}
	name, err := str(m, "name")
	if err != nil {
		return err
	}
	if name == nil {
		if name, err = str(m, "display_name"); err != nil {
			return err
		}
	}
	desc, err := str(m, "description")
	if err != nil {
		return err
	}
	if desc == nil {
		if desc, err = str(m, "display_description"); err != nil {
			return err
		}
	}
	md, err := strMap(m, "metadata")
	if err != nil {
		return err
	}
	v, err := a.v.Update(r.Context(), r.PathValue("id"), name, desc, md)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"volume": a.volumeBaseView(r, v, a.v.TypeNames(r.Context()))})
	return nil
}

func (a *api) deleteVolume(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	cascade, _ := parseBool(q.Get("cascade"))
	force := false
	if mv(r).AtLeast(3, 23) {
		force, _ = parseBool(q.Get("force"))
	}
	if err := a.v.Delete(r.Context(), r.PathValue("id"), cascade, force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
