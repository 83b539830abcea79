package nova

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/policy"
)

// serverTime is Nova's format for a server's created/updated.
const serverTime = "2006-01-02T15:04:05Z"

var progressStatuses = []string{"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"}

func isAdmin(r *http.Request) bool { return policy.FromContext(r.Context()).IsAdmin() }

// hostID is Nova's opaque per-project host hash.
func hostID(sv *compute.Server) string {
	if sv.HostName == "" {
		return ""
	}
	h := sha256.Sum224([]byte(sv.ProjectID + sv.HostName))
	return hex.EncodeToString(h[:])
}

func addressesView(sv *compute.Server, detail bool, floating map[string][]string) map[string]any {
	out := map[string]any{}
	for _, p := range sv.Ports {
		name := p.NetworkName
		if name == "" {
			name = p.NetworkID
		}
		list, _ := out[name].([]map[string]any)
		add := func(addr string, version int, typ string) {
			a := map[string]any{"version": version, "addr": addr}
			if detail {
				a["OS-EXT-IPS:type"] = typ
				a["OS-EXT-IPS-MAC:mac_addr"] = p.MAC
			}
			list = append(list, a)
		}
		for _, ip := range p.FixedIPs {
			add(ip.IPAddress, ip.Version, "fixed")
		}
		for _, f := range floating[p.ID] { // after the fixed ones, under the port's network, as Nova
			v := 4
			if strings.Contains(f, ":") {
				v = 6
			}
			add(f, v, "floating")
		}
		if list == nil {
			list = []map[string]any{}
		}
		out[name] = list
	}
	return out
}

// serverView renders a server as Nova's show/detail body at the request's
// microversion. show adds what only single-server views carry (2.71).
// floating returns the floating addresses bound to the ports of servers
// (nil without the networking service, or if it fails: the view then
// shows the fixed addresses only).
func (a *api) floating(r *http.Request, servers ...*compute.Server) map[string][]string {
	if a.proxy == nil {
		return nil
	}
	var ports []string
	for _, sv := range servers {
		for _, p := range sv.Ports {
			ports = append(ports, p.ID)
		}
	}
	if len(ports) == 0 {
		return nil
	}
	fl, err := a.proxy.FloatingAddresses(r.Context(), ports)
	if err != nil {
		a.Log.WarnContext(r.Context(), "floating addresses for the server view", "err", err)
		return nil
	}
	return fl
}

func (a *api) serverView(r *http.Request, sv *compute.Server, show bool, floating map[string][]string) map[string]any {
	v := mv(r)
	admin := isAdmin(r)
	md := sv.Metadata
	if md == nil {
		md = map[string]string{}
	}
	var img any = ""
	if sv.ImageID != "" {
		img = map[string]any{"id": sv.ImageID, "links": []link{{Rel: "bookmark", Href: apihttp.BaseURL(r) + prefix + "/images/" + sv.ImageID}}}
	}
	var flavor any
	if v.AtLeast(2, 47) {
		f := map[string]any{"vcpus": sv.Flavor.VCPUs, "ram": sv.Flavor.RAM, "disk": sv.Flavor.Disk, "ephemeral": sv.Flavor.Ephemeral,
			"swap": sv.Flavor.Swap, "original_name": sv.Flavor.Name}
		specs := sv.Flavor.ExtraSpecs
		if specs == nil {
			specs = map[string]string{}
		}
		f["extra_specs"] = specs
		flavor = f
	} else {
		flavor = map[string]any{"id": sv.Flavor.ID, "links": []link{{Rel: "bookmark", Href: apihttp.BaseURL(r) + prefix + "/flavors/" + sv.Flavor.ID}}}
	}
	sgs := []map[string]string{}
	for _, g := range sv.SecurityGroups {
		sgs = append(sgs, map[string]string{"name": g})
	}
	out := map[string]any{
		"id": sv.ID, "name": sv.Name, "status": sv.Status, "tenant_id": sv.ProjectID, "user_id": sv.UserID,
		"metadata": md, "hostId": hostID(sv), "image": img, "flavor": flavor,
		"created": sv.CreatedAt.UTC().Format(serverTime), "updated": sv.UpdatedAt.UTC().Format(serverTime),
		"addresses": addressesView(sv, true, floating), "accessIPv4": sv.AccessIPv4, "accessIPv6": sv.AccessIPv6,
		"links": linkSelf(r, "servers", sv.ID), "OS-DCF:diskConfig": sv.DiskConfig,
		"key_name":               sv.KeyName,
		"OS-SRV-USG:launched_at": tsPtr(sv.LaunchedAt), "OS-SRV-USG:terminated_at": tsPtr(sv.TerminatedAt),
		"OS-EXT-AZ:availability_zone": sv.AvailabilityZone,
		"OS-EXT-STS:vm_state":         sv.VMState, "OS-EXT-STS:power_state": sv.PowerState,
		"OS-EXT-STS:task_state": nil, "os-extended-volumes:volumes_attached": volumesAttachedView(r, sv),
		"config_drive": "",
	}
	if sv.TaskState != "" {
		out["OS-EXT-STS:task_state"] = sv.TaskState
	}
	if len(sgs) > 0 { // Nova leaves the key out when there are none
		out["security_groups"] = sgs
	}
	if sv.ConfigDrive {
		out["config_drive"] = "True"
	}
	if slices.Contains(progressStatuses, sv.Status) {
		p := sv.Progress
		if sv.Status == "ACTIVE" {
			p = 0
		}
		out["progress"] = p
	}
	if sv.Fault != nil && (sv.Status == "ERROR" || sv.Status == "DELETED") {
		f := map[string]any{"code": sv.Fault.Code, "created": sv.Fault.Created, "message": sv.Fault.Message}
		if admin || sv.Fault.Code != 500 {
			f["details"] = sv.Fault.Details
		}
		out["fault"] = f
	}
	if admin {
		out["OS-EXT-SRV-ATTR:host"] = nilIfEmpty(sv.HostName)
		out["OS-EXT-SRV-ATTR:hypervisor_hostname"] = nilIfEmpty(sv.NodeName)
		out["OS-EXT-SRV-ATTR:instance_name"] = "instance-" + strconv.FormatInt(sv.Seq+0x100000000, 16)[1:]
		if v.AtLeast(2, 3) {
			out["OS-EXT-SRV-ATTR:reservation_id"] = sv.ReservationID
			out["OS-EXT-SRV-ATTR:launch_index"] = sv.LaunchIndex
			out["OS-EXT-SRV-ATTR:kernel_id"] = ""
			out["OS-EXT-SRV-ATTR:ramdisk_id"] = ""
			out["OS-EXT-SRV-ATTR:hostname"] = sv.Hostname
			out["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda"
			out["OS-EXT-SRV-ATTR:user_data"] = sv.UserData
		}
	}
	if v.AtLeast(2, 9) {
		out["locked"] = sv.Locked
	}
	if v.AtLeast(2, 16) && admin {
		hs := ""
		if sv.HostName != "" {
			hs = "UP"
		}
		out["host_status"] = hs
	}
	if v.AtLeast(2, 19) {
		out["description"] = sv.Description
	}
	if v.AtLeast(2, 26) {
		tags := sv.Tags
		if tags == nil {
			tags = []string{}
		}
		out["tags"] = tags
	}
	if v.AtLeast(2, 63) {
		out["trusted_image_certificates"] = nil
	}
	if v.AtLeast(2, 71) && show {
		groups := []string{}
		if sv.ServerGroupID != "" {
			groups = append(groups, sv.ServerGroupID)
		}
		out["server_groups"] = groups
	}
	if v.AtLeast(2, 73) {
		out["locked_reason"] = sv.LockedReason
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (a *api) getServer(w http.ResponseWriter, r *http.Request) error {
	sv, err := a.c.GetServer(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"server": a.serverView(r, sv, true, a.floating(r, sv))})
	return nil
}

func (a *api) listServers(w http.ResponseWriter, r *http.Request) error {
	return a.serverList(w, r, false)
}

func (a *api) listServersDetail(w http.ResponseWriter, r *http.Request) error {
	return a.serverList(w, r, true)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseChangesTime(name, s string) (*time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, badRequest("Invalid input for query parameters %s. Value: %s. '%s' is not a 'date-time'", name, s, s)
}

func (a *api) serverList(w http.ResponseWriter, r *http.Request, detail bool) error {
	q := r.URL.Query()
	o := compute.ListServersOptions{Name: q.Get("name"), FlavorID: q.Get("flavor"), IP: q.Get("ip"), IP6: q.Get("ip6"),
		ReservationID: q.Get("reservation_id"), Host: q.Get("host"), ProjectID: q.Get("project_id")}
	if o.ProjectID == "" {
		o.ProjectID = q.Get("tenant_id")
	}
	if img := q.Get("image"); img != "" {
		// Clients may pass the image's URL.
		o.ImageID = img[strings.LastIndex(img, "/")+1:]
	}
	if f := o.FlavorID; f != "" {
		o.FlavorID = f[strings.LastIndex(f, "/")+1:]
	}
	o.Statuses = q["status"]
	if q.Has("all_tenants") {
		v := q.Get("all_tenants")
		all, ok := parseBool(v)
		o.AllProjects = v == "" || !ok || all
	}
	if s := q.Get("changes-since"); s != "" {
		t, err := parseChangesTime("changes-since", s)
		if err != nil {
			return err
		}
		o.ChangesSince = t
	}
	if s := q.Get("changes-before"); s != "" && mv(r).AtLeast(2, 66) {
		t, err := parseChangesTime("changes-before", s)
		if err != nil {
			return err
		}
		if o.ChangesSince != nil && t.Before(*o.ChangesSince) {
			return badRequest("The value of changes-since must be less than or equal to changes-before.")
		}
		o.ChangesBefore = t
	}
	if s := q.Get("deleted"); s != "" {
		d, _ := parseBool(s)
		o.Deleted = d
	}
	if mv(r).AtLeast(2, 26) {
		o.Tags, o.TagsAny, o.NotTags, o.NotTagsAny = splitList(q.Get("tags")), splitList(q.Get("tags-any")), splitList(q.Get("not-tags")), splitList(q.Get("not-tags-any"))
	}
	if s := q.Get("locked"); s != "" && mv(r).AtLeast(2, 73) {
		b, ok := parseBool(s)
		if !ok {
			return badRequest("Invalid input for query parameters locked. Value: %s.", s)
		}
		o.Locked = &b
	}
	for _, k := range q["sort_key"] {
		if !slices.Contains(compute.ServerSortKeys, k) {
			return badRequest("Invalid input for query parameters sort_key. Value: %s.", k)
		}
		o.SortKeys = append(o.SortKeys, k)
	}
	for _, d := range q["sort_dir"] {
		if d != "asc" && d != "desc" {
			return badRequest("Invalid input for query parameters sort_dir. Value: %s.", d)
		}
		o.SortDirs = append(o.SortDirs, d)
	}
	if l := q.Get("limit"); l != "" {
		if n, err := strconv.Atoi(l); err != nil || n < 0 {
			return badRequest("Invalid input for query parameters limit. Value: %s. '%s' does not match '^[0-9]*$'", l, l)
		}
	}
	list, err := a.c.ListServers(r.Context(), o)
	if err != nil {
		return err
	}
	page, err := apihttp.Paginate(r, list, func(sv compute.Server) string { return sv.ID }, 1000)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(page.Items))
	var floating map[string][]string
	if detail {
		svs := make([]*compute.Server, len(page.Items))
		for i := range page.Items {
			svs[i] = &page.Items[i]
		}
		floating = a.floating(r, svs...)
	}
	for i := range page.Items {
		sv := &page.Items[i]
		if detail {
			out = append(out, a.serverView(r, sv, false, floating))
		} else {
			out = append(out, map[string]any{"id": sv.ID, "name": sv.Name, "links": linkSelf(r, "servers", sv.ID)})
		}
	}
	body := map[string]any{"servers": out}
	if page.Next != "" {
		body["servers_links"] = []link{{Rel: "next", Href: apihttp.NextLink(apihttp.BaseURL(r), r, page.Next)}}
	}
	apihttp.WriteJSON(w, http.StatusOK, body)
	return nil
}

// validName checks a server name as Nova's schema does.
func validName(field, s string) error {
	if s == "" || len([]rune(s)) > 255 || strings.TrimSpace(s) != s {
		return badRequest("Invalid input for field/attribute %s. Value: %s. '%s' does not match the name pattern", field, s, s)
	}
	return nil
}

func validIP(field, s string, v6 bool) error {
	ip := net.ParseIP(s)
	if ip == nil || (ip.To4() == nil) != v6 {
		kind := "ipv4"
		if v6 {
			kind = "ipv6"
		}
		return badRequest("Invalid input for field/attribute %s. Value: %s. '%s' is not a '%s'", field, s, s, kind)
	}
	return nil
}

func metadataField(raw json.RawMessage, field string) (map[string]string, error) {
	var md map[string]any
	if err := json.Unmarshal(raw, &md); err != nil || md == nil {
		return nil, badRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'object'", field, raw, raw)
	}
	out := map[string]string{}
	for k, v := range md {
		s, ok := v.(string)
		if !ok {
			return nil, badRequest("Invalid input for field/attribute %s. Value: %v. %v is not of type 'string'", k, v, v)
		}
		if k == "" || len(k) > 255 || len(s) > 255 {
			return nil, badRequest("Invalid input for field/attribute %s. Keys and values must be 1-255 characters long.", field)
		}
		out[k] = s
	}
	return out, nil
}

func validTag(t string) error {
	if t == "" || len(t) > 60 || strings.ContainsAny(t, "/,") {
		return badRequest("Invalid input for field/attribute tags. Value: %s. '%s' does not match '^[^,/]*$'", t, t)
	}
	return nil
}

// createServer is POST /servers.
func (a *api) createServer(w http.ResponseWriter, r *http.Request) error {
	var outer map[string]json.RawMessage
	if err := apihttp.Decode(w, r, &outer); err != nil {
		return err
	}
	raw, ok := outer["server"]
	if !ok {
		return badRequest("Invalid input for field/attribute server. Value: None. 'server' is a required property.")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return badRequest("Invalid input for field/attribute server. It must be an object.")
	}
	v := mv(r)
	req := compute.CreateServerRequest{}
	name, err := stringField(m, "name")
	if err != nil {
		return err
	}
	if name == nil {
		return badRequest("Invalid input for field/attribute server. Value: None. 'name' is a required property.")
	}
	if err := validName("name", *name); err != nil {
		return err
	}
	req.Name = *name
	if img, err := stringField(m, "imageRef"); err != nil {
		return err
	} else if img != nil && *img != "" {
		if _, err := uuid.Parse(*img); err != nil {
			// Nova also accepts an image URL; its last segment is the ID.
			id := (*img)[strings.LastIndex(*img, "/")+1:]
			if _, err := uuid.Parse(id); err != nil {
				return badRequest("Invalid imageRef provided.")
			}
			*img = id
		}
		req.ImageRef = *img
	}
	fl, ok := m["flavorRef"]
	if !ok {
		return badRequest("Invalid input for field/attribute server. Value: None. 'flavorRef' is a required property.")
	}
	var flv any
	_ = json.Unmarshal(fl, &flv)
	switch x := flv.(type) {
	case string:
		if x == "" {
			return badRequest("Invalid input for field/attribute flavorRef. Value: . '' is too short")
		}
		req.FlavorRef = x[strings.LastIndex(x, "/")+1:]
	case float64:
		req.FlavorRef = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return badRequest("Invalid input for field/attribute flavorRef. Value: %s. %s is not of type 'string', 'integer'", fl, fl)
	}
	if k, err := stringField(m, "key_name"); err != nil {
		return err
	} else if k != nil {
		req.KeyName = *k
	}
	if ud, err := stringField(m, "user_data"); err != nil {
		return err
	} else if ud != nil {
		req.UserData = ud
	}
	if raw, ok := m["metadata"]; ok {
		if req.Metadata, err = metadataField(raw, "metadata"); err != nil {
			return err
		}
	}
	if z, err := stringField(m, "availability_zone"); err != nil {
		return err
	} else if z != nil {
		req.AvailabilityZone = *z
	}
	if _, ok := m["config_drive"]; ok {
		var cd any
		_ = json.Unmarshal(m["config_drive"], &cd)
		switch x := cd.(type) {
		case bool:
			req.ConfigDrive = x
		case string:
			b, ok := parseBool(x)
			if !ok && x != "" {
				return badRequest("Invalid input for field/attribute config_drive. Value: %s.", x)
			}
			req.ConfigDrive = b
		case nil:
		default:
			return badRequest("Invalid input for field/attribute config_drive. Value: %s.", m["config_drive"])
		}
	}
	minC, err := intField(m, "min_count", 1, false)
	if err != nil {
		return err
	}
	maxC, err := intField(m, "max_count", minC, false)
	if err != nil {
		return err
	}
	if minC < 1 || maxC < 1 {
		return badRequest("Invalid input for field/attribute min_count. Value: %d. %d is less than the minimum of 1", min(minC, maxC), min(minC, maxC))
	}
	if minC > maxC {
		return badRequest("min_count must be <= max_count")
	}
	req.MinCount, req.MaxCount = int(minC), int(maxC)
	retRes, err := boolField(m, "return_reservation_id")
	if err != nil {
		return err
	}
	for _, f := range []string{"accessIPv4", "accessIPv6"} {
		s, err := stringField(m, f)
		if err != nil {
			return err
		}
		if s == nil || *s == "" {
			continue
		}
		if err := validIP(f, *s, f == "accessIPv6"); err != nil {
			return err
		}
		canon := net.ParseIP(*s).String() // as Nova stores it (RFC 5952)
		if f == "accessIPv4" {
			req.AccessIPv4 = canon
		} else {
			req.AccessIPv6 = canon
		}
	}
	if dc, err := diskConfigField(m); err != nil {
		return err
	} else if dc != nil {
		req.DiskConfig = *dc
	}
	if d, ok := m["description"]; ok {
		if !v.AtLeast(2, 19) {
			return badRequest("Invalid input for field/attribute server. Additional properties are not allowed ('description' was unexpected)")
		}
		s, err := stringField(m, "description")
		if err != nil || (s != nil && len([]rune(*s)) > 255) {
			return badRequest("Invalid input for field/attribute description. Value: %s.", d)
		}
		req.Description = s
	}
	if raw, ok := m["tags"]; ok {
		if !v.AtLeast(2, 52) {
			return badRequest("Invalid input for field/attribute server. Additional properties are not allowed ('tags' was unexpected)")
		}
		if err := json.Unmarshal(raw, &req.Tags); err != nil {
			return badRequest("Invalid input for field/attribute tags. Value: %s.", raw)
		}
		if len(req.Tags) > compute.MaxServerTags {
			return badRequest("Invalid input for field/attribute tags. Value: %s. It has too many items.", raw)
		}
		for _, t := range req.Tags {
			if err := validTag(t); err != nil {
				return err
			}
		}
	}
	if ap, err := stringField(m, "adminPass"); err != nil {
		return err
	} else if ap != nil {
		req.AdminPass = *ap
	}
	if raw, ok := m["security_groups"]; ok {
		var sgs []map[string]string
		if err := json.Unmarshal(raw, &sgs); err != nil {
			return badRequest("Invalid input for field/attribute security_groups. Value: %s.", raw)
		}
		for _, g := range sgs {
			if g["name"] == "" {
				return badRequest("Invalid input for field/attribute name. Value: None.")
			}
			if !slices.Contains(req.SecurityGroups, g["name"]) {
				req.SecurityGroups = append(req.SecurityGroups, g["name"])
			}
		}
	}
	if err := parseNetworks(m, v.AtLeast(2, 37), &req); err != nil {
		return err
	}
	if err := parseBDM(m, &req); err != nil {
		return err
	}
	if raw, ok := outer["os:scheduler_hints"]; ok {
		var hints map[string]any
		if err := json.Unmarshal(raw, &hints); err != nil {
			return badRequest("Invalid input for field/attribute os:scheduler_hints.")
		}
		if g, ok := hints["group"].(string); ok {
			if _, err := uuid.Parse(g); err != nil {
				return badRequest("Invalid input for field/attribute group. Value: %s. '%s' is not a 'uuid'", g, g)
			}
			req.Group = g
		}
		for _, h := range []struct {
			name string
			dst  *[]string
		}{{"same_host", &req.SameHost}, {"different_host", &req.DifferentHost}} {
			ids, err := uuidList(hints, h.name)
			if err != nil {
				return err
			}
			*h.dst = ids
		}
	}
	res, err := a.c.CreateServer(r.Context(), req)
	if err != nil {
		return err
	}
	if retRes != nil && *retRes {
		apihttp.WriteJSON(w, http.StatusAccepted, map[string]any{"reservation_id": res.ReservationID})
		return nil
	}
	sv := res.Servers[0]
	sgs := []map[string]string{}
	for _, g := range sv.SecurityGroups {
		sgs = append(sgs, map[string]string{"name": g})
	}
	w.Header().Set("Location", apihttp.BaseURL(r)+v21+"/servers/"+sv.ID)
	apihttp.WriteJSON(w, http.StatusAccepted, map[string]any{"server": map[string]any{
		"id": sv.ID, "links": linkSelf(r, "servers", sv.ID), "OS-DCF:diskConfig": sv.DiskConfig,
		"security_groups": sgs, "adminPass": res.AdminPass,
	}})
	return nil
}

func parseNetworks(m map[string]json.RawMessage, v237 bool, req *compute.CreateServerRequest) error {
	raw, ok := m["networks"]
	if !ok {
		if v237 {
			return badRequest("Invalid input for field/attribute server. Value: None. 'networks' is a required property")
		}
		// Before 2.37 no networks means the project's one network, if any.
		req.Networks = []compute.NetworkRequest{{Default: true}}
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch {
		case !v237:
			return badRequest("Invalid input for field/attribute networks. Value: %s. %s is not of type 'array'", raw, raw)
		case s == "none":
			req.NoNetwork, req.Networks = true, []compute.NetworkRequest{}
		case s == "auto":
			req.Networks = []compute.NetworkRequest{{Auto: true}}
		default:
			return badRequest("Invalid input for field/attribute networks. Value: %s. '%s' is not one of ['none', 'auto']", s, s)
		}
		return nil
	}
	var list []map[string]any
	if err := json.Unmarshal(raw, &list); err != nil {
		return badRequest("Invalid input for field/attribute networks. Value: %s. %s is not of type 'array'", raw, raw)
	}
	req.Networks = []compute.NetworkRequest{}
	for _, n := range list {
		var nr compute.NetworkRequest
		for k, val := range n {
			sv, _ := val.(string)
			switch k {
			case "uuid":
				if _, err := uuid.Parse(sv); err != nil {
					return badRequest("Bad networks format: network uuid is not in proper format (%s)", sv)
				}
				nr.UUID = sv
			case "port":
				if val == nil {
					continue
				}
				if _, err := uuid.Parse(sv); err != nil {
					return badRequest("Invalid input for field/attribute port. Value: %v. '%v' is not a 'uuid'", val, val)
				}
				nr.Port = sv
			case "fixed_ip":
				if net.ParseIP(sv) == nil {
					return badRequest("Invalid input for field/attribute fixed_ip. Value: %v. '%v' is not a 'ip-address'", val, val)
				}
				nr.FixedIP = sv
			case "tag":
				nr.Tag = sv
			default:
				return badRequest("Invalid input for field/attribute networks. Additional properties are not allowed ('%s' was unexpected)", k)
			}
		}
		if nr.UUID == "" && nr.Port == "" {
			return badRequest("Bad network format: missing uuid or port.")
		}
		req.Networks = append(req.Networks, nr)
	}
	return nil
}

func parseBDM(m map[string]json.RawMessage, req *compute.CreateServerRequest) error {
	if raw, ok := m["block_device_mapping"]; ok {
		var v1 []map[string]any
		if err := json.Unmarshal(raw, &v1); err != nil {
			return badRequest("Invalid input for field/attribute block_device_mapping.")
		}
		// Legacy mappings name a volume or snapshot per device; the one on
		// the root device (vda) is the boot volume.
		for _, e := range v1 {
			bd := compute.BlockDevice{DestinationType: "volume"}
			bd.DeleteOnTermination, _ = e["delete_on_termination"].(bool)
			if vs, ok := e["volume_size"].(float64); ok {
				bd.VolumeSize = int64(vs)
			}
			switch id, sid := e["volume_id"], e["snapshot_id"]; {
			case id != nil:
				bd.SourceType, bd.UUID = "volume", fmt.Sprint(id)
			case sid != nil:
				bd.SourceType, bd.UUID = "snapshot", fmt.Sprint(sid)
			default:
				return badRequest("Block Device Mapping is Invalid: a legacy mapping needs volume_id or snapshot_id.")
			}
			dev, _ := e["device_name"].(string)
			if dev == "vda" || dev == "/dev/vda" || (len(v1) == 1 && req.ImageRef == "") {
				zero := 0
				bd.BootIndex = &zero
			}
			req.BlockDevices = append(req.BlockDevices, bd)
		}
	}
	raw, ok := m["block_device_mapping_v2"]
	if !ok {
		return nil
	}
	var list []map[string]any
	if err := json.Unmarshal(raw, &list); err != nil {
		return badRequest("Invalid input for field/attribute block_device_mapping_v2. Value: %s.", raw)
	}
	for _, e := range list {
		var bd compute.BlockDevice
		bd.SourceType, _ = e["source_type"].(string)
		bd.DestinationType, _ = e["destination_type"].(string)
		bd.UUID, _ = e["uuid"].(string)
		if bd.SourceType == "" {
			bd.SourceType = "blank"
		}
		if bd.DestinationType == "" && (bd.SourceType == "volume" || bd.SourceType == "snapshot") {
			bd.DestinationType = "volume"
		}
		switch bd.SourceType {
		case "image", "volume", "snapshot", "blank":
		default:
			return badRequest("Invalid input for field/attribute source_type. Value: %s. '%s' is not one of ['volume', 'image', 'snapshot', 'blank']", bd.SourceType, bd.SourceType)
		}
		switch bd.DestinationType {
		case "", "local", "volume":
		default:
			return badRequest("Invalid input for field/attribute destination_type. Value: %s. '%s' is not one of ['local', 'volume']", bd.DestinationType, bd.DestinationType)
		}
		switch bi := e["boot_index"].(type) {
		case float64:
			n := int(bi)
			bd.BootIndex = &n
		case string:
			if n, err := strconv.Atoi(bi); err == nil {
				bd.BootIndex = &n
			}
		}
		if vs, ok := e["volume_size"].(float64); ok {
			bd.VolumeSize = int64(vs)
		}
		bd.DeleteOnTermination, _ = e["delete_on_termination"].(bool)
		if bd.SourceType == "image" && bd.UUID != "" && bd.BootIndex != nil && *bd.BootIndex == 0 && req.ImageRef == "" {
			req.ImageRef = bd.UUID
		}
		req.BlockDevices = append(req.BlockDevices, bd)
	}
	return nil
}

func (a *api) updateServer(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "server")
	if err != nil {
		return err
	}
	v := mv(r)
	allowed := []string{"name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"}
	if v.AtLeast(2, 19) {
		allowed = append(allowed, "description")
	}
	if err := onlyFields(m, allowed...); err != nil {
		return err
	}
	var u compute.ServerUpdate
	if u.Name, err = stringField(m, "name"); err != nil {
		return err
	}
	if u.Name != nil {
		if err := validName("name", *u.Name); err != nil {
			return err
		}
	}
	if _, ok := m["description"]; ok {
		d, err := stringField(m, "description")
		if err != nil || (d != nil && len([]rune(*d)) > 255) {
			return badRequest("Invalid input for field/attribute description.")
		}
		u.Description = &d
	}
	for _, f := range []string{"accessIPv4", "accessIPv6"} {
		s, err := stringField(m, f)
		if err != nil {
			return err
		}
		if s == nil {
			continue
		}
		if *s != "" {
			if err := validIP(f, *s, f == "accessIPv6"); err != nil {
				return err
			}
			*s = net.ParseIP(*s).String()
		}
		if f == "accessIPv4" {
			u.AccessIPv4 = s
		} else {
			u.AccessIPv6 = s
		}
	}
	if u.DiskConfig, err = diskConfigField(m); err != nil {
		return err
	}
	sv, err := a.c.UpdateServer(r.Context(), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"server": a.updateView(r, sv)})
	return nil
}

// updateView is the body of update and rebuild: before 2.75 the show view
// without the detail-only fields; addresses are never extended.
func (a *api) updateView(r *http.Request, sv *compute.Server) map[string]any {
	floating := a.floating(r, sv)
	v := a.serverView(r, sv, true, floating)
	// Nova shows addresses without the OS-EXT-IPS fields here
	// (extend_address=False), whatever the microversion.
	v["addresses"] = addressesView(sv, false, floating)
	if mv(r).AtLeast(2, 75) {
		return v
	}
	for k := range v {
		if strings.HasPrefix(k, "OS-EXT-") || strings.HasPrefix(k, "OS-SRV-USG") || strings.HasPrefix(k, "os-extended-volumes") ||
			k == "key_name" || k == "security_groups" || k == "config_drive" || k == "host_status" {
			delete(v, k)
		}
	}
	return v
}

func (a *api) deleteServer(w http.ResponseWriter, r *http.Request) error {
	if err := a.c.DeleteServer(r.Context(), r.PathValue("id"), false); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// computeRequestID adds Nova's legacy X-Compute-Request-Id header (the same
// ID as X-Openstack-Request-Id), which Tempest reads for instance actions.
func computeRequestID(fn apihttp.HandlerFunc) apihttp.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("X-Compute-Request-Id", w.Header().Get(apihttp.HeaderRequestID))
		return fn(w, r)
	}
}

// getServerPassword is GET /servers/{id}/os-server-password: Nubo stores
// no encrypted password (no metadata service posts one yet), so it is "".
func (a *api) getServerPassword(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.c.GetServer(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]string{"password": ""})
	return nil
}

// deleteServerPassword is DELETE /servers/{id}/os-server-password.
func (a *api) deleteServerPassword(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.c.GetServer(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// diskConfigField reads OS-DCF:diskConfig (AUTO or MANUAL; nil if absent).
func diskConfigField(m map[string]json.RawMessage) (*string, error) {
	dc, err := stringField(m, "OS-DCF:diskConfig")
	if err != nil || dc == nil {
		return dc, err
	}
	if *dc != "AUTO" && *dc != "MANUAL" {
		return nil, badRequest("Invalid input for field/attribute OS-DCF:diskConfig. Value: %s. '%s' is not one of ['AUTO', 'MANUAL']", *dc, *dc)
	}
	return dc, nil
}

// uuidList reads a scheduler hint that is one server UUID or a list of
// them (Nova's same_host and different_host).
func uuidList(hints map[string]any, name string) ([]string, error) {
	v, ok := hints[name]
	if !ok {
		return nil, nil
	}
	var items []any
	switch x := v.(type) {
	case string:
		items = []any{x}
	case []any:
		items = x
	default:
		return nil, badRequest("Invalid input for field/attribute %s. Value: %v. It must be a UUID or a list of UUIDs.", name, v)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if _, err := uuid.Parse(s); !ok || err != nil {
			return nil, badRequest("Invalid input for field/attribute %s. Value: %v. '%v' is not a 'uuid'", name, v, it)
		}
		out = append(out, s)
	}
	return out, nil
}
