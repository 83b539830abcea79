package nova

import (
	"net/http"
	"strconv"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
)

// getDiagnostics is GET /servers/{id}/diagnostics (admin): Nova's standard
// format from 2.48, before it a flat map of hypervisor-specific keys (the
// libvirt driver's names for what Nubo knows: memory in KiB, each NIC's
// MAC as vnetN-mac).
func (a *api) getDiagnostics(w http.ResponseWriter, r *http.Request) error {
	d, err := a.c.Diagnostics(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !mv(r).AtLeast(2, 48) {
		out := map[string]any{"memory": d.MemoryMB * 1024}
		for i, mac := range d.NICs {
			out["vnet"+strconv.Itoa(i)+"-mac"] = mac
		}
		apihttp.WriteJSON(w, http.StatusOK, out)
		return nil
	}
	cpus := make([]map[string]any, 0, d.NumCPUs)
	for i := range d.NumCPUs {
		cpus = append(cpus, map[string]any{"id": i, "time": nil, "utilisation": nil})
	}
	nics := make([]map[string]any, 0, len(d.NICs))
	for _, mac := range d.NICs {
		nic := map[string]any{"mac_address": mac}
		for _, k := range []string{"rx_octets", "rx_errors", "rx_drop", "rx_packets", "rx_rate", "tx_octets", "tx_errors", "tx_drop", "tx_packets", "tx_rate"} {
			nic[k] = nil
		}
		nics = append(nics, nic)
	}
	disks := make([]map[string]any, 0, d.NumDisks)
	for range d.NumDisks {
		disks = append(disks, map[string]any{"read_bytes": nil, "read_requests": nil, "write_bytes": nil, "write_requests": nil, "errors_count": nil})
	}
	var uptime any
	if d.Uptime != nil {
		uptime = *d.Uptime
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{
		"state": d.State, "driver": d.Driver, "hypervisor": d.Hypervisor, "hypervisor_os": d.HypervisorOS,
		"uptime": uptime, "config_drive": d.ConfigDrive, "num_cpus": d.NumCPUs, "num_nics": len(d.NICs),
		"num_disks": d.NumDisks, "memory_details": map[string]any{"maximum": d.MemoryMB, "used": nil},
		"cpu_details": cpus, "nic_details": nics, "disk_details": disks,
	})
	return nil
}
