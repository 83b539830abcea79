package nova

import (
	"encoding/json"
	"net/http"

	"github.com/google/uuid"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
)

// listIPs is GET /servers/{id}/ips.
func (a *api) listIPs(w http.ResponseWriter, r *http.Request) error {
	sv, err := a.c.GetServer(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"addresses": addressesView(sv, false, a.floating(r, sv))})
	return nil
}

// listIPsByNetwork is GET /servers/{id}/ips/{network}.
func (a *api) listIPsByNetwork(w http.ResponseWriter, r *http.Request) error {
	sv, err := a.c.GetServer(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	net := r.PathValue("network")
	all := addressesView(sv, false, a.floating(r, sv))
	list, ok := all[net]
	if !ok {
		return notFoundf("There are no instance interfaces on network %s.", net)
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{net: list})
	return nil
}

func interfaceView(serverID string, p compute.Port) map[string]any {
	ips := []map[string]string{}
	for _, ip := range p.FixedIPs {
		ips = append(ips, map[string]string{"subnet_id": ip.SubnetID, "ip_address": ip.IPAddress})
	}
	st := p.Status
	if st == "" {
		st = "ACTIVE"
	}
	return map[string]any{"port_id": p.ID, "net_id": p.NetworkID, "mac_addr": p.MAC, "port_state": st, "fixed_ips": ips}
}

// listInterfaces is GET /servers/{id}/os-interface.
func (a *api) listInterfaces(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	ports, err := a.c.ServerPorts(r.Context(), id)
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, p := range ports {
		out = append(out, interfaceView(id, p))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"interfaceAttachments": out})
	return nil
}

// getInterface is GET /servers/{id}/os-interface/{port}.
func (a *api) getInterface(w http.ResponseWriter, r *http.Request) error {
	id, port := r.PathValue("id"), r.PathValue("port")
	ports, err := a.c.ServerPorts(r.Context(), id)
	if err != nil {
		return err
	}
	for _, p := range ports {
		if p.ID == port {
			apihttp.WriteJSON(w, http.StatusOK, map[string]any{"interfaceAttachment": interfaceView(id, p)})
			return nil
		}
	}
	return notFoundf("Instance %s does not have an interface with port %s.", id, port)
}

// attachInterface is POST /servers/{id}/os-interface.
func (a *api) attachInterface(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "interfaceAttachment")
	if err != nil {
		return err
	}
	if err := onlyFields(m, "net_id", "port_id", "fixed_ips", "tag"); err != nil {
		return err
	}
	var req compute.NetworkRequest
	if s, err := stringField(m, "net_id"); err != nil {
		return err
	} else if s != nil {
		req.UUID = *s
	}
	if s, err := stringField(m, "port_id"); err != nil {
		return err
	} else if s != nil {
		if _, err := uuid.Parse(*s); err != nil {
			return badRequest("Invalid input for field/attribute port_id. Value: %s. '%s' is not a 'uuid'", *s, *s)
		}
		req.Port = *s
	}
	if req.UUID != "" && req.Port != "" {
		return badRequest("Must not input both network_id and port_id")
	}
	if raw, ok := m["fixed_ips"]; ok {
		var ips []map[string]string
		if err := json.Unmarshal(raw, &ips); err != nil || len(ips) != 1 {
			return badRequest("Invalid input for field/attribute fixed_ips.")
		}
		if req.UUID == "" {
			return badRequest("Must input network_id when request IP address")
		}
		req.FixedIP = ips[0]["ip_address"]
	}
	if req.UUID == "" && req.Port == "" {
		req.Auto = true
	}
	p, err := a.c.AttachInterface(r.Context(), r.PathValue("id"), req)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"interfaceAttachment": interfaceView(r.PathValue("id"), *p)})
	return nil
}

// detachInterface is DELETE /servers/{id}/os-interface/{port}.
func (a *api) detachInterface(w http.ResponseWriter, r *http.Request) error {
	if err := a.c.DetachInterface(r.Context(), r.PathValue("id"), r.PathValue("port")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
