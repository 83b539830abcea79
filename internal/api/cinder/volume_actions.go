package cinder

import (
	"encoding/json"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/volume"
)

// volumeAction dispatches POST /volumes/{id}/action on the one key of the
// body, as Cinder does.
func (a *api) volumeAction(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "")
	if err != nil {
		return err
	}
	if len(m) != 1 {
		return badRequest("There is either no action or more than one action in the request body.")
	}
	ctx, id := r.Context(), r.PathValue("id")
	for name, raw := range m {
		var args map[string]json.RawMessage
		if string(raw) != "null" {
			if err := json.Unmarshal(raw, &args); err != nil {
				args = map[string]json.RawMessage{}
			}
		}
		if args == nil {
			args = map[string]json.RawMessage{}
		}
		accepted := func(err error) error {
			if err != nil {
				return err
			}
			w.WriteHeader(http.StatusAccepted)
			return nil
		}
		switch name {
		case "os-extend":
			size, ok, err := intField(args, "new_size")
			if err != nil {
				return err
			}
			if !ok {
				return badRequest("Invalid input received: 'new_size' is a required property.")
			}
			_, err = a.v.Extend(ctx, id, size, mv(r).AtLeast(3, 42))
			return accepted(err)
		case "os-set_bootable":
			b, ok, err := boolField(args, "bootable")
			if err != nil {
				return err
			}
			if !ok {
				return badRequest("Invalid input received: 'bootable' is a required property.")
			}
			if err := a.v.SetBootable(ctx, id, b); err != nil {
				return err
			}
			w.WriteHeader(http.StatusOK)
			return nil
		case "os-update_readonly_flag":
			b, ok, err := boolField(args, "readonly")
			if err != nil {
				return err
			}
			if !ok {
				return badRequest("Invalid input received: 'readonly' is a required property.")
			}
			return accepted(a.v.SetReadOnly(ctx, id, b))
		case "os-reset_status":
			st, err := strOr(args, "status")
			if err != nil {
				return err
			}
			as, err := strOr(args, "attach_status")
			if err != nil {
				return err
			}
			return accepted(a.v.ResetStatus(ctx, id, st, as))
		case "os-force_delete":
			return accepted(a.v.Delete(ctx, id, false, true))
		case "os-retype":
			t, err := strOr(args, "new_type")
			if err != nil {
				return err
			}
			if t == "" {
				return badRequest("Invalid input received: 'new_type' is a required property.")
			}
			_, err = a.v.Retype(ctx, id, t)
			return accepted(err)
		case "os-volume_upload_image":
			return a.uploadImage(w, r, id, args)
		case "os-reserve":
			return accepted(a.v.Reserve(ctx, id))
		case "os-unreserve":
			return accepted(a.v.Unreserve(ctx, id))
		case "os-begin_detaching":
			return accepted(a.v.BeginDetaching(ctx, id))
		case "os-roll_detaching":
			return accepted(a.v.RollDetaching(ctx, id))
		case "os-initialize_connection":
			var connector map[string]any
			if raw, ok := args["connector"]; ok {
				json.Unmarshal(raw, &connector) //nolint:errcheck // nil connector is refused below
			}
			ci, err := a.v.InitializeConnection(ctx, id, connector)
			if err != nil {
				return err
			}
			apihttp.WriteJSON(w, http.StatusOK, map[string]any{"connection_info": ci})
			return nil
		case "os-terminate_connection":
			if _, err := a.v.Get(ctx, id); err != nil {
				return err
			}
			w.WriteHeader(http.StatusAccepted)
			return nil
		case "os-attach":
			server, err := strOr(args, "instance_uuid")
			if err != nil {
				return err
			}
			host, err := strOr(args, "host_name")
			if err != nil {
				return err
			}
			mount, err := strOr(args, "mountpoint")
			if err != nil {
				return err
			}
			mode, err := strOr(args, "mode")
			if err != nil {
				return err
			}
			return accepted(a.v.Attach(ctx, id, server, host, mount, mode))
		case "os-detach":
			att, err := strOr(args, "attachment_id")
			if err != nil {
				return err
			}
			return accepted(a.v.Detach(ctx, id, att, false))
		case "os-force_detach":
			att, err := strOr(args, "attachment_id")
			if err != nil {
				return err
			}
			return accepted(a.v.Detach(ctx, id, att, true))
		case "os-set_image_metadata":
			md, err := strMap(args, "metadata")
			if err != nil {
				return err
			}
			out, err := a.v.SetImageMetadata(ctx, id, md)
			if err != nil {
				return err
			}
			apihttp.WriteJSON(w, http.StatusOK, map[string]any{"metadata": out})
			return nil
		case "os-unset_image_metadata":
			k, err := strOr(args, "key")
			if err != nil {
				return err
			}
			if err := a.v.UnsetImageMetadata(ctx, id, k); err != nil {
				return err
			}
			w.WriteHeader(http.StatusOK)
			return nil
		case "os-show_image_metadata":
			v, err := a.v.Get(ctx, id)
			if err != nil {
				return err
			}
			apihttp.WriteJSON(w, http.StatusOK, map[string]any{"metadata": orEmpty(v.ImageMetadata)})
			return nil
		}
		return badRequest("There is no such action: %s", name)
	}
	return nil
}

func (a *api) uploadImage(w http.ResponseWriter, r *http.Request, id string, args map[string]json.RawMessage) error {
	name, err := strOr(args, "image_name")
	if err != nil {
		return err
	}
	if name == "" {
		return badRequest("Invalid input received: 'image_name' is a required property.")
	}
	req := volume.UploadRequest{}
	req.ImageName = name
	if req.DiskFormat, err = strOr(args, "disk_format"); err != nil {
		return err
	}
	if req.ContainerFormat, err = strOr(args, "container_format"); err != nil {
		return err
	}
	if req.Force, _, err = boolField(args, "force"); err != nil {
		return err
	}
	if mv(r).AtLeast(3, 1) {
		if req.Visibility, err = strOr(args, "visibility"); err != nil {
			return err
		}
		if req.Protected, _, err = boolField(args, "protected"); err != nil {
			return err
		}
	}
	v, imageID, err := a.v.UploadImage(r.Context(), id, req)
	if err != nil {
		return err
	}
	df, cf := req.DiskFormat, req.ContainerFormat
	if df == "" {
		df = "raw"
	}
	if cf == "" {
		cf = "bare"
	}
	t, _ := a.v.GetType(r.Context(), v.TypeID)
	var tv any
	if t != nil {
		tv = typeView(r, t, true)
	}
	out := map[string]any{"id": v.ID, "updated_at": ts(v.UpdatedAt), "status": v.Status, "display_description": nullable(v.Description),
		"size": v.Size, "volume_type": tv, "image_id": imageID, "container_format": cf, "disk_format": df, "image_name": name}
	if mv(r).AtLeast(3, 1) {
		vis := req.Visibility
		if vis == "" {
			vis = "private"
		}
		out["visibility"], out["protected"] = vis, req.Protected
	}
	apihttp.WriteJSON(w, http.StatusAccepted, map[string]any{"os-volume_upload_image": out})
	return nil
}
