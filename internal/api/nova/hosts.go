package nova

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/scheduler"
)

// Availability zones.

func (a *api) listZones(w http.ResponseWriter, r *http.Request) error {
	zs, err := a.c.ListZones(r.Context(), false)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(zs))
	for _, z := range zs {
		out = append(out, map[string]any{"zoneName": z.Name, "zoneState": map[string]bool{"available": z.Available}, "hosts": nil})
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": out})
	return nil
}

func (a *api) listZonesDetail(w http.ResponseWriter, r *http.Request) error {
	zs, err := a.c.ListZones(r.Context(), true)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(zs))
	for _, z := range zs {
		hosts := map[string]map[string]any{}
		for h, svcs := range z.Hosts {
			m := map[string]any{}
			for _, sv := range svcs {
				m[sv.Binary] = map[string]any{"available": !sv.Disabled, "active": !sv.ForcedDown, "updated_at": tsPtr(sv.UpdatedAt)}
			}
			hosts[h] = m
		}
		out = append(out, map[string]any{"zoneName": z.Name, "zoneState": map[string]bool{"available": z.Available}, "hosts": hosts})
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": out})
	return nil
}

// Services.

func serviceID(r *http.Request, sv *compute.NovaService) any {
	if mv(r).AtLeast(2, 53) {
		return sv.ID
	}
	return sv.Seq
}

func serviceView(r *http.Request, sv *compute.ServiceView) map[string]any {
	v := map[string]any{
		"id": serviceID(r, &sv.NovaService), "binary": sv.Binary, "host": sv.Host, "zone": sv.Zone,
		"status": sv.Status(), "state": sv.State(), "updated_at": tsPtr(sv.UpdatedAt), "disabled_reason": sv.DisabledReason,
	}
	if mv(r).AtLeast(2, 11) {
		v["forced_down"] = sv.ForcedDown
	}
	return v
}

func (a *api) listServices(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	svcs, err := a.c.ListServices(r.Context(), q.Get("host"), q.Get("binary"))
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(svcs))
	for i := range svcs {
		out = append(out, serviceView(r, &svcs[i]))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"services": out})
	return nil
}

func (a *api) updateService(w http.ResponseWriter, r *http.Request) error {
	action := r.PathValue("action")
	if mv(r).AtLeast(2, 53) {
		return a.updateServiceByID(w, r, action)
	}
	m, err := decodeBody(w, r, "")
	if err != nil {
		return err
	}
	host, _ := stringField(m, "host")
	binary, _ := stringField(m, "binary")
	if host == nil || binary == nil {
		return badRequest("Invalid input for field/attribute: 'host' and 'binary' are required properties.")
	}
	var u compute.ServiceUpdate
	t, f := true, false
	switch action {
	case "enable":
		u.Disabled = &f
	case "disable":
		u.Disabled = &t
	case "disable-log-reason":
		reason, err := stringField(m, "disabled_reason")
		if err != nil {
			return err
		}
		if reason == nil || *reason == "" {
			return badRequest("Missing disabled reason field")
		}
		u.Disabled, u.DisabledReason = &t, reason
	case "force-down":
		if !mv(r).AtLeast(2, 11) {
			return fault.New(fault.NotFound, "Unknown action")
		}
		fd, err := boolField(m, "forced_down")
		if err != nil {
			return err
		}
		if fd == nil {
			return badRequest("Invalid input for field/attribute forced_down. 'forced_down' is a required property.")
		}
		u.ForcedDown = fd
	default:
		return fault.New(fault.NotFound, "Unknown action")
	}
	sv, err := a.c.UpdateServiceByHost(r.Context(), *host, *binary, u)
	if err != nil {
		return err
	}
	v := map[string]any{"host": sv.Host, "binary": sv.Binary}
	switch action {
	case "force-down":
		v["forced_down"] = sv.ForcedDown
	case "disable-log-reason":
		v["status"] = sv.Status()
		v["disabled_reason"] = sv.DisabledReason
	default:
		v["status"] = sv.Status()
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"service": v})
	return nil
}

func (a *api) updateServiceByID(w http.ResponseWriter, r *http.Request, id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return badRequest("Invalid uuid %s", id)
	}
	m, err := decodeBody(w, r, "")
	if err != nil {
		return err
	}
	if err := onlyFields(m, "status", "disabled_reason", "forced_down"); err != nil {
		return err
	}
	var u compute.ServiceUpdate
	status, err := stringField(m, "status")
	if err != nil {
		return err
	}
	if status != nil {
		switch *status {
		case "enabled":
			f := false
			u.Disabled = &f
		case "disabled":
			t := true
			u.Disabled = &t
		default:
			return badRequest("Invalid input for field/attribute status. Value: %s. '%s' is not one of ['enabled', 'disabled'].", *status, *status)
		}
	}
	if u.DisabledReason, err = stringField(m, "disabled_reason"); err != nil {
		return err
	}
	if u.DisabledReason != nil && (status == nil || *status != "disabled") {
		return badRequest("Specifying 'disabled_reason' with status other than 'disabled' is invalid.")
	}
	if raw, ok := m["forced_down"]; ok {
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return badRequest("Invalid input for field/attribute forced_down. Value: %s. %s is not of type 'boolean'.", raw, raw)
		}
		u.ForcedDown = &b
	}
	if status == nil && u.ForcedDown == nil {
		return badRequest("At least one of 'status' or 'forced_down' must be specified in the request body.")
	}
	sv, err := a.c.UpdateService(r.Context(), id, u)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"service": serviceView(r, sv)})
	return nil
}

func (a *api) deleteService(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !mv(r).AtLeast(2, 53) {
		svcs, err := a.c.ListServices(r.Context(), "", "")
		if err != nil {
			return err
		}
		found := ""
		for _, sv := range svcs {
			if strconv.FormatInt(sv.Seq, 10) == id {
				found = sv.ID
			}
		}
		if found == "" {
			return fault.New(fault.NotFound, "Service %s could not be found.", id)
		}
		id = found
	} else if _, err := uuid.Parse(id); err != nil {
		return badRequest("Invalid uuid %s", id)
	}
	if err := a.c.DeleteService(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Hypervisors.

func hypervisorID(r *http.Request, h *compute.HostView) any {
	if mv(r).AtLeast(2, 53) {
		return h.ID
	}
	return h.Seq
}

func hypervisorBrief(r *http.Request, h *compute.HostView) map[string]any {
	return map[string]any{"id": hypervisorID(r, h), "hypervisor_hostname": h.HypervisorHostname, "state": h.State(), "status": h.Status()}
}

func hypervisorServers(h *compute.HostView) []map[string]string {
	out := make([]map[string]string, 0, len(h.Servers))
	for _, sv := range h.Servers {
		out = append(out, map[string]string{"uuid": sv.ID, "name": sv.Name})
	}
	return out
}

func hypervisorDetail(r *http.Request, h *compute.HostView) map[string]any {
	v := hypervisorBrief(r, h)
	inv := func(class string) int64 { return h.Inventory[class].Total }
	memory, disk := inv(scheduler.MemoryMB), inv(scheduler.DiskGB)
	usedRAM := h.Used[scheduler.MemoryMB] + h.Inventory[scheduler.MemoryMB].Reserved
	usedDisk := h.Used[scheduler.DiskGB]
	var cpuInfo any = h.CPUInfo
	if cpuInfo == nil {
		cpuInfo = map[string]any{}
	}
	if !mv(r).AtLeast(2, 28) {
		b, _ := json.Marshal(cpuInfo)
		cpuInfo = string(b)
	}
	svcID := any(h.Service.Seq)
	if mv(r).AtLeast(2, 53) {
		svcID = h.Service.ID
	}
	v["cpu_info"] = cpuInfo
	v["current_workload"] = 0
	v["disk_available_least"] = disk - usedDisk
	v["host_ip"] = h.HostIP
	v["free_disk_gb"] = disk - usedDisk
	v["free_ram_mb"] = memory - usedRAM
	v["hypervisor_type"] = h.HypervisorType
	v["hypervisor_version"] = h.HypervisorVersion
	v["local_gb"] = disk
	v["local_gb_used"] = usedDisk
	v["memory_mb"] = memory
	v["memory_mb_used"] = usedRAM
	v["running_vms"] = h.Instances
	v["service"] = map[string]any{"host": h.Name, "id": svcID, "disabled_reason": h.Service.DisabledReason}
	v["vcpus"] = inv(scheduler.VCPU)
	v["vcpus_used"] = h.Used[scheduler.VCPU]
	return v
}

// hypervisorList serves list and detail: 2.33 pages, 2.53 filters by
// hostname pattern and embeds servers.
func (a *api) hypervisorList(w http.ResponseWriter, r *http.Request, detail bool) error {
	hs, err := a.c.ListHosts(r.Context())
	if err != nil {
		return err
	}
	q := r.URL.Query()
	withServers := false
	if mv(r).AtLeast(2, 53) {
		if s := q.Get("with_servers"); s != "" {
			b, ok := parseBool(s)
			if !ok {
				return badRequest("Invalid input for query parameters with_servers. Value: %s.", s)
			}
			withServers = b
		}
		if p := q.Get("hypervisor_hostname_pattern"); p != "" {
			if q.Has("limit") || q.Has("marker") {
				return badRequest("Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.")
			}
			var match []compute.HostView
			for _, h := range hs {
				if strings.Contains(h.HypervisorHostname, p) {
					match = append(match, h)
				}
			}
			if len(match) == 0 {
				return fault.New(fault.NotFound, "Hypervisor with hostname pattern %s could not be found.", p)
			}
			hs = match
		}
	}
	var next string
	if mv(r).AtLeast(2, 33) {
		id := func(h compute.HostView) string { return fmt.Sprint(hypervisorID(r, &h)) }
		page, err := apihttp.Paginate(r, hs, id, 1000)
		if err != nil {
			return err
		}
		hs, next = page.Items, page.Next
	}
	out := make([]map[string]any, 0, len(hs))
	for i := range hs {
		v := hypervisorBrief(r, &hs[i])
		if detail {
			v = hypervisorDetail(r, &hs[i])
		}
		if withServers && len(hs[i].Servers) > 0 {
			v["servers"] = hypervisorServers(&hs[i])
		}
		out = append(out, v)
	}
	body := map[string]any{"hypervisors": out}
	if next != "" {
		body["hypervisors_links"] = []link{{Rel: "next", Href: apihttp.NextLink(apihttp.BaseURL(r), r, next)}}
	}
	apihttp.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (a *api) listHypervisors(w http.ResponseWriter, r *http.Request) error {
	return a.hypervisorList(w, r, false)
}

func (a *api) listHypervisorsDetail(w http.ResponseWriter, r *http.Request) error {
	return a.hypervisorList(w, r, true)
}

func (a *api) findHypervisor(r *http.Request) (*compute.HostView, error) {
	id := r.PathValue("id")
	if mv(r).AtLeast(2, 53) {
		if _, err := uuid.Parse(id); err != nil {
			return nil, badRequest("Invalid uuid %s", id)
		}
	} else if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return nil, fault.New(fault.NotFound, "Hypervisor with ID %s could not be found.", id)
	}
	return a.c.GetHost(r.Context(), id)
}

func (a *api) getHypervisor(w http.ResponseWriter, r *http.Request) error {
	h, err := a.findHypervisor(r)
	if err != nil {
		return err
	}
	v := hypervisorDetail(r, h)
	if mv(r).AtLeast(2, 53) {
		if s := r.URL.Query().Get("with_servers"); s != "" {
			if b, ok := parseBool(s); ok && b && len(h.Servers) > 0 {
				v["servers"] = hypervisorServers(h)
			}
		}
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"hypervisor": v})
	return nil
}

func (a *api) hypervisorUptime(w http.ResponseWriter, r *http.Request) error {
	h, err := a.findHypervisor(r)
	if err != nil {
		return err
	}
	v := hypervisorBrief(r, h)
	up := time.Since(h.StartedAt)
	v["uptime"] = fmt.Sprintf(" %s up %d days, %2d:%02d,  0 users,  load average: 0.00, 0.00, 0.00",
		time.Now().UTC().Format("15:04:05"), int(up.Hours())/24, int(up.Hours())%24, int(up.Minutes())%60)
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"hypervisor": v})
	return nil
}

func (a *api) hypervisorStatistics(w http.ResponseWriter, r *http.Request) error {
	hs, err := a.c.ListHosts(r.Context())
	if err != nil {
		return err
	}
	keys := []string{"count", "current_workload", "disk_available_least", "free_disk_gb", "free_ram_mb", "local_gb",
		"local_gb_used", "memory_mb", "memory_mb_used", "running_vms", "vcpus", "vcpus_used"}
	sum := map[string]int64{}
	for _, k := range keys {
		sum[k] = 0
	}
	for i := range hs {
		d := hypervisorDetail(r, &hs[i])
		sum["count"]++
		for _, k := range keys[1:] {
			switch n := d[k].(type) {
			case int64:
				sum[k] += n
			case int:
				sum[k] += int64(n)
			}
		}
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"hypervisor_statistics": sum})
	return nil
}

// hypervisorsMatching serves the pre-2.53 search and servers routes.
func (a *api) hypervisorsMatching(w http.ResponseWriter, r *http.Request, servers bool) error {
	if mv(r).AtLeast(2, 53) {
		return fault.New(fault.NotFound, "The resource could not be found.")
	}
	hs, err := a.c.ListHosts(r.Context())
	if err != nil {
		return err
	}
	p := r.PathValue("pattern")
	var out []map[string]any
	for i := range hs {
		if !strings.Contains(hs[i].HypervisorHostname, p) {
			continue
		}
		v := hypervisorBrief(r, &hs[i])
		if servers && len(hs[i].Servers) > 0 {
			v["servers"] = hypervisorServers(&hs[i])
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return fault.New(fault.NotFound, "No hypervisor matching '%s' could be found.", p)
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"hypervisors": out})
	return nil
}

func (a *api) searchHypervisors(w http.ResponseWriter, r *http.Request) error {
	return a.hypervisorsMatching(w, r, false)
}

func (a *api) hypervisorServers(w http.ResponseWriter, r *http.Request) error {
	return a.hypervisorsMatching(w, r, true)
}
