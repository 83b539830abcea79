package nova

import (
	"encoding/json"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/fault"
)

// Nova's legacy volume proxies (os-volumes, os-snapshots), served up to
// microversion 2.35 and forwarded to Block Storage (compute.Volumes).

func (a *api) registerVolumeProxies(h func(string, apihttp.HandlerFunc)) {
	p := func(pattern string, fn apihttp.HandlerFunc) {
		h(pattern, func(w http.ResponseWriter, r *http.Request) error {
			if mv(r).AtLeast(2, 36) {
				return notFoundf("The resource could not be found.")
			}
			return fn(w, r)
		})
	}
	p("GET "+v21+"/os-volumes", a.listProxyVolumes)
	p("GET "+v21+"/os-volumes/detail", a.listProxyVolumes)
	p("POST "+v21+"/os-volumes", a.createProxyVolume)
	p("GET "+v21+"/os-volumes/{id}", a.getProxyVolume)
	p("DELETE "+v21+"/os-volumes/{id}", a.deleteProxyVolume)
	p("GET "+v21+"/os-snapshots", a.listProxySnapshots)
	p("GET "+v21+"/os-snapshots/detail", a.listProxySnapshots)
	p("POST "+v21+"/os-snapshots", a.createProxySnapshot)
	p("GET "+v21+"/os-snapshots/{id}", a.getProxySnapshot)
	p("DELETE "+v21+"/os-snapshots/{id}", a.deleteProxySnapshot)
}

func proxyVolumeView(v *compute.Volume) map[string]any {
	atts := []map[string]any{}
	for _, at := range v.Attachments {
		if at.ServerID == "" {
			continue
		}
		atts = append(atts, map[string]any{"id": v.ID, "volumeId": v.ID, "serverId": at.ServerID, "device": at.Device})
	}
	if len(atts) == 0 {
		atts = append(atts, map[string]any{}) // as Nova: [{}]
	}
	md := v.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return map[string]any{"id": v.ID, "status": v.Status, "size": v.SizeGB, "availabilityZone": v.Zone,
		"createdAt": ts(v.CreatedAt), "attachments": atts, "displayName": nilIfEmpty(v.Name),
		"displayDescription": nilIfEmpty(v.Description), "volumeType": nilIfEmpty(v.TypeName),
		"snapshotId": nilIfEmpty(v.SnapshotID), "metadata": md}
}

func proxySnapshotView(s *compute.VolumeSnapshot) map[string]any {
	return map[string]any{"id": s.ID, "volumeId": s.VolumeID, "status": s.Status, "size": s.SizeGB,
		"createdAt": ts(s.CreatedAt), "displayName": nilIfEmpty(s.Name), "displayDescription": nilIfEmpty(s.Description)}
}

// volumeFault turns a Block Storage 404 into Nova's message.
func volumeFault(err error, what, id string) error {
	if fault.Is(err, fault.NotFound) {
		return notFoundf("%s %s could not be found.", what, id)
	}
	return err
}

// page applies Nova's limit/offset to a proxied list.
func page[T any](r *http.Request, list []T) ([]T, error) {
	limit, err := intQuery(r, "limit")
	if err != nil {
		return nil, err
	}
	offset, err := intQuery(r, "offset")
	if err != nil {
		return nil, err
	}
	if offset > 0 {
		list = list[min(offset, len(list)):]
	}
	if limit >= 0 && limit < len(list) {
		list = list[:limit]
	}
	return list, nil
}

func (a *api) listProxyVolumes(w http.ResponseWriter, r *http.Request) error {
	vp, err := a.c.VolumeProxy()
	if err != nil {
		return err
	}
	vols, err := vp.ListVolumes(r.Context())
	if err != nil {
		return err
	}
	if vols, err = page(r, vols); err != nil {
		return err
	}
	out := []map[string]any{}
	for i := range vols {
		out = append(out, proxyVolumeView(&vols[i]))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"volumes": out})
	return nil
}

func (a *api) getProxyVolume(w http.ResponseWriter, r *http.Request) error {
	vp, err := a.c.VolumeProxy()
	if err != nil {
		return err
	}
	v, err := vp.GetVolume(r.Context(), r.PathValue("id"))
	if err != nil {
		return volumeFault(err, "Volume", r.PathValue("id"))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"volume": proxyVolumeView(&v)})
	return nil
}

func (a *api) createProxyVolume(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "volume")
	if err != nil {
		return err
	}
	if err := onlyFields(m, "size", "availability_zone", "display_name", "display_description", "metadata", "volume_type", "snapshot_id"); err != nil {
		return err
	}
	raw, ok := m["size"]
	if !ok {
		return badRequest("Invalid input for field/attribute volume. Value: %s. 'size' is a required property", m)
	}
	size, err := intField(m, "size", 0, false)
	if err != nil || size < 1 {
		return badRequest("Invalid input for field/attribute size. Value: %s. %s is not a valid volume size", raw, raw)
	}
	req := compute.VolumeRequest{SizeGB: int(size)}
	for name, dst := range map[string]*string{"availability_zone": &req.Zone, "display_name": &req.Name,
		"display_description": &req.Description, "volume_type": &req.Type, "snapshot_id": &req.SnapshotID} {
		s, err := stringField(m, name)
		if err != nil {
			return err
		}
		if s != nil {
			*dst = *s
		}
	}
	if raw, ok := m["metadata"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &req.Metadata); err != nil {
			return badRequest("Invalid input for field/attribute metadata. Value: %s.", raw)
		}
	}
	vp, err := a.c.VolumeProxy()
	if err != nil {
		return err
	}
	v, err := vp.CreateVolume(r.Context(), req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", apihttp.BaseURL(r)+v21+"/os-volumes/"+v.ID)
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"volume": proxyVolumeView(&v)})
	return nil
}

func (a *api) deleteProxyVolume(w http.ResponseWriter, r *http.Request) error {
	vp, err := a.c.VolumeProxy()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := vp.GetVolume(r.Context(), id); err != nil {
		return volumeFault(err, "Volume", id)
	}
	if err := vp.DeleteVolume(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) listProxySnapshots(w http.ResponseWriter, r *http.Request) error {
	vp, err := a.c.VolumeProxy()
	if err != nil {
		return err
	}
	snaps, err := vp.ListSnapshots(r.Context())
	if err != nil {
		return err
	}
	if snaps, err = page(r, snaps); err != nil {
		return err
	}
	out := []map[string]any{}
	for i := range snaps {
		out = append(out, proxySnapshotView(&snaps[i]))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"snapshots": out})
	return nil
}

func (a *api) getProxySnapshot(w http.ResponseWriter, r *http.Request) error {
	vp, err := a.c.VolumeProxy()
	if err != nil {
		return err
	}
	s, err := vp.GetSnapshot(r.Context(), r.PathValue("id"))
	if err != nil {
		return volumeFault(err, "Snapshot", r.PathValue("id"))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"snapshot": proxySnapshotView(&s)})
	return nil
}

func (a *api) createProxySnapshot(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "snapshot")
	if err != nil {
		return err
	}
	if err := onlyFields(m, "volume_id", "force", "display_name", "display_description"); err != nil {
		return err
	}
	vid, err := stringField(m, "volume_id")
	if err != nil {
		return err
	}
	if vid == nil {
		return badRequest("Invalid input for field/attribute snapshot. 'volume_id' is a required property")
	}
	force, err := boolField(m, "force")
	if err != nil {
		return err
	}
	name, err := stringField(m, "display_name")
	if err != nil {
		return err
	}
	desc, err := stringField(m, "display_description")
	if err != nil {
		return err
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	vp, err := a.c.VolumeProxy()
	if err != nil {
		return err
	}
	s, err := vp.CreateSnapshot(r.Context(), *vid, deref(name), deref(desc), force != nil && *force)
	if err != nil {
		return volumeFault(err, "Volume", *vid)
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"snapshot": proxySnapshotView(&s)})
	return nil
}

func (a *api) deleteProxySnapshot(w http.ResponseWriter, r *http.Request) error {
	vp, err := a.c.VolumeProxy()
	if err != nil {
		return err
	}
	if err := vp.DeleteSnapshot(r.Context(), r.PathValue("id")); err != nil {
		return volumeFault(err, "Snapshot", r.PathValue("id"))
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
