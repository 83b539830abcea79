package nova

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/fault"
)

// actionBody is the decoded body of POST /servers/{id}/action: one key
// naming the action, its value the arguments (an object or null).
type actionBody struct {
	name string
	args map[string]json.RawMessage
}

func decodeAction(w http.ResponseWriter, r *http.Request) (*actionBody, error) {
	var outer map[string]json.RawMessage
	if err := apihttp.Decode(w, r, &outer); err != nil {
		return nil, err
	}
	if len(outer) != 1 {
		return nil, badRequest("Malformed request body: one action expected.")
	}
	for k, raw := range outer {
		b := &actionBody{name: k, args: map[string]json.RawMessage{}}
		if string(raw) != "null" {
			if err := json.Unmarshal(raw, &b.args); err != nil {
				return nil, badRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'object'", k, raw, raw)
			}
		}
		return b, nil
	}
	return nil, badRequest("Malformed request body.")
}

func accepted(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) }

// serverAction is POST /servers/{id}/action.
func (a *api) serverAction(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeAction(w, r)
	if err != nil {
		return err
	}
	ctx, id := r.Context(), r.PathValue("id")
	simple := map[string]func() error{
		"os-start":     func() error { return a.c.Start(ctx, id) },
		"os-stop":      func() error { return a.c.Stop(ctx, id) },
		"pause":        func() error { return a.c.Pause(ctx, id) },
		"unpause":      func() error { return a.c.Unpause(ctx, id) },
		"suspend":      func() error { return a.c.Suspend(ctx, id) },
		"resume":       func() error { return a.c.Resume(ctx, id) },
		"unlock":       func() error { return a.c.Unlock(ctx, id) },
		"revertResize": func() error { return a.c.RevertResize(ctx, id) },
		"shelve":       func() error { return a.c.Shelve(ctx, id) },
		"shelveOffload": func() error {
			return a.c.ShelveOffload(ctx, id)
		},
		"unrescue":    func() error { return a.c.Unrescue(ctx, id) },
		"forceDelete": func() error { return a.c.DeleteServer(ctx, id, true) },
		// XenAPI-era admin actions (Nova accepts them and casts to the host).
		"resetNetwork":      func() error { return a.c.RefreshNetwork(ctx, id) },
		"injectNetworkInfo": func() error { return a.c.RefreshNetwork(ctx, id) },
	}
	if fn, ok := simple[b.name]; ok {
		if err := fn(); err != nil {
			return err
		}
		accepted(w)
		return nil
	}
	str := func(k string) (string, error) {
		s, err := stringField(b.args, k)
		if err != nil || s == nil {
			return "", err
		}
		return *s, nil
	}
	switch b.name {
	case "reboot":
		t, err := str("type")
		if err != nil {
			return err
		}
		switch strings.ToUpper(t) {
		case "SOFT", "HARD":
		default:
			return badRequest("Invalid input for field/attribute type. Value: %s. '%s' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']", t, t)
		}
		if err := a.c.Reboot(ctx, id, strings.EqualFold(t, "HARD")); err != nil {
			return err
		}
		accepted(w)
	case "lock":
		var reason *string
		if _, ok := b.args["locked_reason"]; ok {
			if !mv(r).AtLeast(2, 73) {
				return badRequest("Invalid input for field/attribute lock. Additional properties are not allowed ('locked_reason' was unexpected)")
			}
			if reason, err = stringField(b.args, "locked_reason"); err != nil {
				return err
			}
		}
		if err := a.c.Lock(ctx, id, reason); err != nil {
			return err
		}
		accepted(w)
	case "rebuild":
		return a.rebuild(w, r, b)
	case "resize":
		f, ok := b.args["flavorRef"]
		if !ok {
			return badRequest("Invalid input for field/attribute resize. Value: None. 'flavorRef' is a required property")
		}
		var fv any
		_ = json.Unmarshal(f, &fv)
		ref := ""
		switch x := fv.(type) {
		case string:
			ref = x
		case float64:
			ref = strings.TrimSuffix(string(f), ".0")
		}
		if ref == "" {
			return badRequest("Invalid input for field/attribute flavorRef. Value: %s.", f)
		}
		dc, err := diskConfigField(b.args)
		if err != nil {
			return err
		}
		if err := a.c.Resize(ctx, id, ref, dc); err != nil {
			return err
		}
		accepted(w)
	case "confirmResize":
		if err := a.c.ConfirmResize(ctx, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
	case "createImage":
		name, err := str("name")
		if err != nil {
			return err
		}
		if strings.TrimSpace(name) == "" || len(name) > 255 {
			return badRequest("Invalid input for field/attribute name. Value: %s.", name)
		}
		var md map[string]string
		if raw, ok := b.args["metadata"]; ok {
			if md, err = metadataField(raw, "metadata"); err != nil {
				return err
			}
		}
		imgID, err := a.c.CreateImage(ctx, id, name, md)
		if err != nil {
			return err
		}
		w.Header().Set("Location", apihttp.BaseURL(r)+"/image/v2/images/"+imgID)
		if mv(r).AtLeast(2, 45) {
			apihttp.WriteJSON(w, http.StatusAccepted, map[string]string{"image_id": imgID})
			return nil
		}
		accepted(w)
	case "createBackup":
		name, err := str("name")
		if err != nil {
			return err
		}
		typ, err := str("backup_type")
		if err != nil {
			return err
		}
		if name == "" || typ == "" {
			return badRequest("Invalid input for field/attribute createBackup. 'name', 'backup_type' and 'rotation' are required properties")
		}
		rot, err := intField(b.args, "rotation", -1, false)
		if err != nil {
			return err
		}
		if rot < 0 {
			return badRequest("Invalid input for field/attribute rotation. Value: %d. It must be 0 or more.", rot)
		}
		var md map[string]string
		if raw, ok := b.args["metadata"]; ok {
			if md, err = metadataField(raw, "metadata"); err != nil {
				return err
			}
		}
		imgID, err := a.c.CreateBackup(ctx, id, name, typ, int(rot), md)
		if err != nil {
			return err
		}
		if mv(r).AtLeast(2, 45) {
			apihttp.WriteJSON(w, http.StatusAccepted, map[string]string{"image_id": imgID})
			return nil
		}
		w.Header().Set("Location", apihttp.BaseURL(r)+"/image/v2/images/"+imgID)
		accepted(w)
	case "unshelve":
		zone := ""
		if mv(r).AtLeast(2, 77) {
			if zone, err = str("availability_zone"); err != nil {
				return err
			}
		} else if len(b.args) > 0 {
			return badRequest("Invalid input for field/attribute unshelve. Value: %v. It must be null.", b.args)
		}
		if err := a.c.Unshelve(ctx, id, zone); err != nil {
			return err
		}
		accepted(w)
	case "migrate":
		host := ""
		if mv(r).AtLeast(2, 56) {
			if host, err = str("host"); err != nil {
				return err
			}
		}
		if err := a.c.Migrate(ctx, id, host); err != nil {
			return err
		}
		accepted(w)
	case "os-migrateLive":
		host, err := str("host")
		if err != nil {
			return err
		}
		if _, ok := b.args["block_migration"]; !ok {
			return badRequest("Invalid input for field/attribute os-migrateLive. Value: None. 'block_migration' is a required property")
		}
		if err := a.c.LiveMigrate(ctx, id, host); err != nil {
			return err
		}
		accepted(w)
	case "rescue":
		pass, err := str("adminPass")
		if err != nil {
			return err
		}
		img, err := str("rescue_image_ref")
		if err != nil {
			return err
		}
		if img != "" {
			if _, err := uuid.Parse(img); err != nil {
				return badRequest("Invalid input for field/attribute rescue_image_ref. Value: %s. '%s' is not a 'uuid'", img, img)
			}
		}
		pass, err = a.c.Rescue(ctx, id, img, pass)
		if err != nil {
			return err
		}
		apihttp.WriteJSON(w, http.StatusOK, map[string]string{"adminPass": pass})
	case "os-resetState":
		st, err := str("state")
		if err != nil {
			return err
		}
		if err := a.c.ResetState(ctx, id, st); err != nil {
			return err
		}
		accepted(w)
	case "changePassword":
		p, err := stringField(b.args, "adminPass")
		if err != nil {
			return err
		}
		if p == nil {
			return badRequest("Invalid input for field/attribute changePassword. Value: None. 'adminPass' is a required property")
		}
		if err := a.c.ChangePassword(ctx, id, *p); err != nil {
			return err
		}
		accepted(w)
	case "addFloatingIp", "removeFloatingIp":
		return a.floatingIPAction(w, r, b) // floating_ips.go
	case "addSecurityGroup", "removeSecurityGroup":
		name, err := str("name")
		if err != nil {
			return err
		}
		if strings.TrimSpace(name) == "" {
			return badRequest("Security group name cannot be empty")
		}
		if b.name == "addSecurityGroup" {
			err = a.c.AddSecurityGroup(ctx, id, name)
		} else {
			err = a.c.RemoveSecurityGroup(ctx, id, name)
		}
		if err == nil {
			err = a.syncPortSecurityGroup(r, id, name, b.name == "addSecurityGroup") // security_groups.go
		}
		if err != nil {
			return err
		}
		accepted(w)
	case "os-getConsoleOutput":
		n, err := intField(b.args, "length", -1, true)
		if err != nil {
			return err
		}
		if n < -1 {
			return badRequest("Invalid input for field/attribute length. Value: %d. %d is less than the minimum of -1", n, n)
		}
		out, err := a.c.ConsoleOutput(ctx, id, int(n))
		if err != nil {
			return err
		}
		apihttp.WriteJSON(w, http.StatusOK, map[string]string{"output": out})
	case "os-getVNCConsole":
		t, err := str("type")
		if err != nil {
			return err
		}
		tok, err := a.c.RemoteConsole(ctx, id, "vnc", t)
		if err != nil {
			return err
		}
		apihttp.WriteJSON(w, http.StatusOK, map[string]any{"console": map[string]string{"type": t, "url": consoleURL(r, tok)}})
	case "os-getSPICEConsole", "os-getRDPConsole", "os-getSerialConsole":
		return badRequest("Unavailable console type %s.", b.name)
	case "restore":
		if _, err := a.c.GetServer(ctx, id); err != nil {
			return err
		}
		return fault.New(fault.Conflict, "Instance %s is not soft-deleted (soft delete is off).", id)
	default:
		return badRequest("There is no such action: %s", b.name)
	}
	return nil
}

func (a *api) rebuild(w http.ResponseWriter, r *http.Request, b *actionBody) error {
	v := mv(r)
	m := b.args
	img, err := stringField(m, "imageRef")
	if err != nil {
		return err
	}
	if img == nil {
		return badRequest("Invalid input for field/attribute rebuild. Value: None. 'imageRef' is a required property")
	}
	id := (*img)[strings.LastIndex(*img, "/")+1:]
	if _, err := uuid.Parse(id); err != nil {
		return badRequest("Invalid imageRef provided.")
	}
	req := compute.RebuildRequest{ImageRef: id}
	if req.Name, err = stringField(m, "name"); err != nil {
		return err
	}
	if req.Name != nil {
		if err := validName("name", *req.Name); err != nil {
			return err
		}
	}
	if raw, ok := m["metadata"]; ok {
		if req.Metadata, err = metadataField(raw, "metadata"); err != nil {
			return err
		}
	}
	if p, err := stringField(m, "adminPass"); err != nil {
		return err
	} else if p != nil {
		req.AdminPass = *p
	}
	if _, ok := m["description"]; ok && v.AtLeast(2, 19) {
		d, err := stringField(m, "description")
		if err != nil {
			return err
		}
		req.Description = &d
	}
	if _, ok := m["key_name"]; ok && v.AtLeast(2, 54) {
		k, err := stringField(m, "key_name")
		if err != nil {
			return err
		}
		req.KeyName = &k
	}
	if _, ok := m["user_data"]; ok && v.AtLeast(2, 57) {
		u, err := stringField(m, "user_data")
		if err != nil {
			return err
		}
		req.UserData = &u
	}
	for _, f := range []string{"accessIPv4", "accessIPv6"} {
		s, err := stringField(m, f)
		if err != nil {
			return err
		}
		if s != nil && *s != "" {
			if err := validIP(f, *s, f == "accessIPv6"); err != nil {
				return err
			}
			*s = net.ParseIP(*s).String()
		}
		if f == "accessIPv4" {
			req.AccessIPv4 = s
		} else {
			req.AccessIPv6 = s
		}
	}
	if req.DiskConfig, err = diskConfigField(m); err != nil {
		return err
	}
	sv, err := a.c.Rebuild(r.Context(), r.PathValue("id"), req)
	if err != nil {
		return err
	}
	view := a.updateView(r, sv)
	if v.AtLeast(2, 54) {
		view["key_name"] = sv.KeyName
	}
	if v.AtLeast(2, 57) {
		view["user_data"] = sv.UserData
		delete(view, "OS-EXT-SRV-ATTR:user_data")
	}
	if req.AdminPass == "" {
		req.AdminPass = strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	}
	view["adminPass"] = req.AdminPass
	apihttp.WriteJSON(w, http.StatusAccepted, map[string]any{"server": view})
	return nil
}
