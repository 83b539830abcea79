package nova

import (
	"net/http"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/fault"
)

// os-hosts (admin, before 2.43): the enabled services by host, a compute
// host's resources, enabling/disabling its service. Maintenance mode and
// power actions are 501, as with the libvirt driver.

func (a *api) listOSHosts(w http.ResponseWriter, r *http.Request) error {
	svcs, err := a.c.ListServices(r.Context(), "", "")
	if err != nil {
		return err
	}
	zone := r.URL.Query().Get("zone")
	out := []map[string]string{}
	for _, sv := range svcs {
		if sv.Disabled || zone != "" && sv.Zone != zone {
			continue
		}
		if sv.Binary == "nova-osapi_compute" || sv.Binary == "nova-metadata" {
			continue
		}
		out = append(out, map[string]string{"host_name": sv.Host, "service": strings.TrimPrefix(sv.Binary, "nova-"), "zone": sv.Zone})
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"hosts": out})
	return nil
}

// computeHost finds the compute host named name (404 otherwise).
func (a *api) computeHost(r *http.Request, name string) (*compute.HostView, error) {
	hs, err := a.c.ListHosts(r.Context())
	if err != nil {
		return nil, err
	}
	for i := range hs {
		if hs[i].Name == name {
			return &hs[i], nil
		}
	}
	return nil, fault.New(fault.NotFound, "Compute host %s could not be found.", name)
}

func (a *api) getOSHost(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("host")
	h, err := a.computeHost(r, name)
	if err != nil {
		return err
	}
	res := func(project string, cpu, mem, disk int64) map[string]any {
		return map[string]any{"resource": map[string]any{"host": name, "project": project, "cpu": cpu, "memory_mb": mem, "disk_gb": disk}}
	}
	d := hypervisorDetail(r, h)
	num := func(k string) int64 {
		switch v := d[k].(type) {
		case int64:
			return v
		case int:
			return int64(v)
		}
		return 0
	}
	out := []map[string]any{
		res("(total)", num("vcpus"), num("memory_mb"), num("local_gb")),
		res("(used_now)", num("vcpus_used"), num("memory_mb_used"), num("local_gb_used")),
	}
	type usage struct{ cpu, mem, disk int64 }
	var total usage
	byProject := map[string]*usage{}
	var order []string
	for _, s := range h.Servers {
		u := byProject[s.ProjectID]
		if u == nil {
			u = &usage{}
			byProject[s.ProjectID] = u
			order = append(order, s.ProjectID)
		}
		for _, x := range []*usage{u, &total} {
			x.cpu += s.Flavor.VCPUs
			x.mem += s.Flavor.RAM
			x.disk += s.Flavor.Disk + s.Flavor.Ephemeral
		}
	}
	out = append(out, res("(used_max)", total.cpu, total.mem, total.disk))
	for _, p := range order {
		u := byProject[p]
		out = append(out, res(p, u.cpu, u.mem, u.disk))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"host": out})
	return nil
}

// hostMode reads an os-hosts update value: enable or disable, any case.
func hostMode(s *string, name string) (*bool, error) {
	if s == nil {
		return nil, nil
	}
	switch *s {
	case "enable", "Enable", "ENABLE":
		t := true
		return &t, nil
	case "disable", "Disable", "DISABLE":
		f := false
		return &f, nil
	}
	return nil, badRequest("Invalid input for field/attribute %s. Value: %s. '%s' is not one of ['enable', 'disable', 'Enable', 'Disable', 'ENABLE', 'DISABLE']", name, *s, *s)
}

func (a *api) updateOSHost(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("host")
	// Policy first: only admins reach validation.
	if _, err := a.c.ListHosts(r.Context()); err != nil {
		return err
	}
	m, err := decodeBody(w, r, "")
	if err != nil {
		return err
	}
	if err := onlyFields(m, "status", "maintenance_mode"); err != nil {
		return err
	}
	st, err := stringField(m, "status")
	if err != nil {
		return err
	}
	mm, err := stringField(m, "maintenance_mode")
	if err != nil {
		return err
	}
	if st == nil && mm == nil {
		return badRequest("Invalid input for field/attribute. 'status' or 'maintenance_mode' is a required property.")
	}
	enable, err := hostMode(st, "status")
	if err != nil {
		return err
	}
	maint, err := hostMode(mm, "maintenance_mode")
	if err != nil {
		return err
	}
	if _, err := a.computeHost(r, name); err != nil {
		return err
	}
	out := map[string]any{"host": name}
	if enable != nil {
		disabled := !*enable
		if _, err := a.c.UpdateServiceByHost(r.Context(), name, compute.BinaryCompute, compute.ServiceUpdate{Disabled: &disabled}); err != nil {
			return err
		}
		out["status"] = map[bool]string{true: "enabled", false: "disabled"}[*enable]
	}
	if maint != nil {
		return fault.New(fault.NotImplemented, "Virt driver does not implement host maintenance mode.")
	}
	apihttp.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *api) osHostPowerAction(w http.ResponseWriter, r *http.Request) error {
	switch r.PathValue("action") {
	case "startup", "shutdown", "reboot":
	default:
		return notFoundf("The resource could not be found.")
	}
	if _, err := a.computeHost(r, r.PathValue("host")); err != nil {
		return err
	}
	return fault.New(fault.NotImplemented, "Virt driver does not implement host power management.")
}
