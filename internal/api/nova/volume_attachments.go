package nova

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
)

// Volume attachments of a server (os-volume_attachments): the Compute side
// of Block Storage attachments (internal/compute/volumes.go).

// registerVolumeAttachments adds the os-volume_attachments routes.
func (a *api) registerVolumeAttachments(hs func(string, apihttp.HandlerFunc)) {
	base := v21 + "/servers/{id}/os-volume_attachments"
	hs("GET "+base, a.listVolumeAttachments)
	hs("POST "+base, a.attachVolume)
	hs("GET "+base+"/{volume}", a.getVolumeAttachment)
	hs("PUT "+base+"/{volume}", a.swapVolume)
	hs("DELETE "+base+"/{volume}", a.detachVolume)
}

// volumeAttachmentView is Nova's volumeAttachment at the request's
// microversion (tag at 2.70, delete_on_termination at 2.79).
func volumeAttachmentView(r *http.Request, serverID string, va *compute.VolumeAttachment) map[string]any {
	out := map[string]any{"id": va.VolumeID, "volumeId": va.VolumeID, "serverId": serverID, "device": nilIfEmpty(va.Device)}
	v := mv(r)
	if v.AtLeast(2, 70) {
		out["tag"] = nilIfEmpty(va.Tag)
	}
	if v.AtLeast(2, 79) {
		out["delete_on_termination"] = va.DeleteOnTermination
	}
	return out
}

// volumesAttachedView is a server's os-extended-volumes:volumes_attached.
func volumesAttachedView(r *http.Request, sv *compute.Server) []any {
	out := []any{}
	for _, va := range sv.VolumeAttachments {
		e := map[string]any{"id": va.VolumeID}
		if mv(r).AtLeast(2, 3) {
			e["delete_on_termination"] = va.DeleteOnTermination
		}
		out = append(out, e)
	}
	return out
}

func (a *api) listVolumeAttachments(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	vas, err := a.c.ServerVolumes(r.Context(), id)
	if err != nil {
		return err
	}
	list := []any{}
	for i := range vas {
		list = append(list, volumeAttachmentView(r, id, &vas[i]))
	}
	if list, err = page(r, list); err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"volumeAttachments": list})
	return nil
}

// intQuery reads a non-negative integer query parameter (-1 if absent).
func intQuery(r *http.Request, name string) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return -1, nil
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' || n > 1<<30 {
			return 0, badRequest("Invalid input for query parameters %s. Value: %s. '%s' does not match '^[0-9]*$'", name, s, s)
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

func (a *api) getVolumeAttachment(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	va, err := a.c.ServerVolume(r.Context(), id, r.PathValue("volume"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"volumeAttachment": volumeAttachmentView(r, id, va)})
	return nil
}

func (a *api) attachVolume(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "volumeAttachment")
	if err != nil {
		return err
	}
	v := mv(r)
	allowed := []string{"volumeId", "device"}
	if v.AtLeast(2, 49) {
		allowed = append(allowed, "tag")
	}
	if v.AtLeast(2, 79) {
		allowed = append(allowed, "delete_on_termination")
	}
	if err := onlyFields(m, allowed...); err != nil {
		return err
	}
	var req compute.AttachVolumeRequest
	vid, err := stringField(m, "volumeId")
	if err != nil {
		return err
	}
	if vid == nil {
		return badRequest("Invalid input for field/attribute volumeAttachment. Value: %s. 'volumeId' is a required property", m)
	}
	if _, err := uuid.Parse(*vid); err != nil {
		return badRequest("Invalid input for field/attribute volumeId. Value: %s. '%s' is not a 'uuid'", *vid, *vid)
	}
	req.VolumeID = *vid
	dev, err := stringField(m, "device")
	if err != nil {
		return err
	}
	if dev != nil {
		req.Device = *dev
	}
	tag, err := stringField(m, "tag")
	if err != nil {
		return err
	}
	if tag != nil {
		if *tag == "" || len(*tag) > 60 {
			return badRequest("Invalid input for field/attribute tag. Value: %s.", *tag)
		}
		if err := validTag(*tag); err != nil {
			return err
		}
		req.Tag = *tag
	}
	dot, err := boolField(m, "delete_on_termination")
	if err != nil {
		return err
	}
	if dot != nil {
		req.DeleteOnTermination = *dot
	}
	id := r.PathValue("id")
	va, err := a.c.AttachVolume(r.Context(), id, req)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"volumeAttachment": volumeAttachmentView(r, id, va)})
	return nil
}

// swapVolume is PUT …/os-volume_attachments/{volume}: swap (admin).
func (a *api) swapVolume(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "volumeAttachment")
	if err != nil {
		return err
	}
	if err := onlyFields(m, "volumeId", "id", "serverId", "device"); err != nil {
		return err
	}
	vid, err := stringField(m, "volumeId")
	if err != nil {
		return err
	}
	if vid == nil {
		return badRequest("Invalid input for field/attribute volumeAttachment. 'volumeId' is a required property")
	}
	if _, err := uuid.Parse(*vid); err != nil {
		return badRequest("Invalid input for field/attribute volumeId. Value: %s. '%s' is not a 'uuid'", *vid, *vid)
	}
	if err := a.c.SwapVolume(r.Context(), r.PathValue("id"), r.PathValue("volume"), *vid); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) detachVolume(w http.ResponseWriter, r *http.Request) error {
	if err := a.c.DetachVolume(r.Context(), r.PathValue("id"), r.PathValue("volume")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
